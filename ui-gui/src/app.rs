//! The iced application around [`Browser`]: effects become tasks on the
//! async tree layer, the keyboard (when no widget takes it) and the tree's
//! change subscription become messages.

use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use docgrid_client::tree::{AsyncTree, Changed, Tree};
use iced::futures::Stream;
use iced::keyboard::{self, key::Named};
use iced::widget::operation::AbsoluteOffset;
use iced::{Element, Subscription, Task, window};

use crate::effects::{self, Desktop};
use crate::import::ImportMsg;
use crate::state::{Browser, Effect, Key, Message};

/// The application's messages.
#[derive(Debug, Clone)]
pub enum Msg {
    /// For the browser.
    Browser(Message),
    /// A key no widget took, with the modifiers held.
    Key(keyboard::Key, keyboard::Modifiers),
    /// Time to take the `--screenshot`.
    Shoot,
    /// The `--screenshot`, taken.
    Shot(window::Screenshot),
    /// A frame is being drawn (only with `--first-paint`).
    Frame,
}

/// The running application.
pub struct App {
    tree: AsyncTree,
    /// Workers for long work (imports, opening documents, decoding
    /// pictures), so that listings never queue behind it.
    slow: AsyncTree,
    desk: Desktop,
    /// The browser state.
    pub browser: Browser,
    server: String,
    changes: Changes,
    /// Where to save a screenshot once everything is loaded (then exit).
    screenshot: Option<PathBuf>,
    shooting: bool,
    /// With `--first-paint`: when the process started; the time to the
    /// first frame showing everything loaded is printed, then it exits.
    pub first_paint: Option<Instant>,
    /// The theme asked for (`--theme`); `None` follows the desktop.
    pub theme: Option<iced::Theme>,
}

/// The tree's change subscription, shared with the subscription's stream.
#[derive(Clone)]
struct Changes(Arc<Mutex<Receiver<Changed>>>);

impl Hash for Changes {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // One subscription for the life of the application.
        "docgrid-changes".hash(state);
    }
}

impl App {
    /// The browser over `tree` (following its change feed), at `path`,
    /// titled with `server`; and the listings to fetch first.
    pub fn new(
        tree: Tree,
        desk: Desktop,
        server: String,
        path: &str,
        screenshot: Option<PathBuf>,
    ) -> (App, Task<Msg>) {
        tree.follow_changes();
        let changes = Changes(Arc::new(Mutex::new(tree.subscribe())));
        let (browser, effects) = Browser::new(path);
        let app = App {
            slow: AsyncTree::new(tree.clone(), 2),
            tree: AsyncTree::new(tree, 4),
            desk,
            browser,
            server,
            changes,
            screenshot,
            shooting: false,
            first_paint: None,
            theme: None,
        };
        let task = app.run(effects);
        (app, task)
    }

    fn run(&self, effects: Vec<Effect>) -> Task<Msg> {
        Task::batch(effects.into_iter().map(|e| match e {
            Effect::Import { dir, files } => self.import(dir, files),
            Effect::Pick(dir) => Task::perform(crate::dialog::pick(dir.clone()), move |result| {
                Msg::Browser(Message::Import(ImportMsg::Picked { dir, result }))
            }),
            e => {
                let long = matches!(e, Effect::Open { .. } | Effect::Picture { .. });
                let pool = if long { &self.slow } else { &self.tree };
                Task::perform(
                    effects::run(pool.clone(), self.desk.clone(), e),
                    Msg::Browser,
                )
            }
        }))
    }

    /// An import on a tree worker, its progress streamed as it goes.
    fn import(&self, dir: String, files: Vec<PathBuf>) -> Task<Msg> {
        let (tx, rx) = iced::futures::channel::mpsc::unbounded();
        let done = self.slow.run(move |t| {
            let report = t.import(&dir, &files, &|p| {
                let _ = tx.unbounded_send(*p);
            });
            Ok(report.map_err(|e| docgrid_core::error_chain(&e)))
        });
        let progress = Task::run(rx, |p| {
            Msg::Browser(Message::Import(ImportMsg::Progress(p)))
        });
        let done = Task::perform(done, |r| {
            let r = r.unwrap_or_else(|e| Err(docgrid_core::error_chain(&e)));
            Msg::Browser(Message::Import(ImportMsg::Done(r)))
        });
        // Every progress message before the outcome.
        progress.chain(done)
    }

    /// Applies `msg`.
    pub fn update(&mut self, msg: Msg) -> Task<Msg> {
        let msg = match msg {
            Msg::Browser(m) => m,
            Msg::Key(k, mods) if is_search_key(&k, mods) => {
                return iced::widget::operation::focus(crate::view::SEARCH_ID);
            }
            Msg::Key(keyboard::Key::Named(Named::F2), _) => {
                return iced::widget::operation::focus(crate::view::NAME_ID);
            }
            Msg::Key(keyboard::Key::Character(c), mods) if mods.command() && c.as_str() == "z" => {
                Message::Undo
            }
            // Ctrl/Alt/⌘ with a letter is a shortcut, never type-ahead.
            Msg::Key(keyboard::Key::Character(_), mods)
                if mods.command() || mods.control() || mods.alt() =>
            {
                return Task::none();
            }
            Msg::Key(k, _) => match browser_key(&k) {
                Some(k) => {
                    let effects = self.browser.update(Message::Key(k, Instant::now()));
                    return Task::batch([self.run(effects), self.reveal()]);
                }
                None => return Task::none(),
            },
            Msg::Shoot => return window::latest().and_then(window::screenshot).map(Msg::Shot),
            Msg::Shot(shot) => return self.save(&shot),
            Msg::Frame => return self.frame(),
        };
        let effects = self.browser.update(msg);
        let task = self.run(effects);
        if self.screenshot.is_some() && !self.shooting && self.browser.settled() {
            self.shooting = true;
            // A moment for the window to draw what just arrived.
            return Task::batch([task, Task::perform(effects::after(SETTLE), |()| Msg::Shoot)]);
        }
        task
    }

    /// Scrolls the focused column to its selection if the keyboard moved
    /// it out of view.
    fn reveal(&mut self) -> Task<Msg> {
        match self.browser.reveal() {
            Some((c, y)) => iced::widget::operation::scroll_to(
                crate::view::column_id(c),
                AbsoluteOffset {
                    x: None,
                    y: Some(y),
                },
            ),
            None => Task::none(),
        }
    }

    /// `--first-paint`: the first frame drawn with everything loaded ends
    /// the run, its time since start printed (JSON on stdout).
    fn frame(&self) -> Task<Msg> {
        match self.first_paint {
            Some(start) if self.browser.settled() => {
                let ms = start.elapsed().as_secs_f64() * 1e3;
                println!("{{\"first_paint_ms\": {ms:.1}}}");
                iced::exit()
            }
            _ => Task::none(),
        }
    }

    /// Saves `shot` as the `--screenshot` PNG and exits.
    fn save(&self, shot: &window::Screenshot) -> Task<Msg> {
        if let Some(path) = &self.screenshot
            && let Err(e) =
                crate::shot::save_png(path, shot.size.width, shot.size.height, &shot.rgba)
        {
            eprintln!("docgrid-gui: saving the screenshot {}: {e}", path.display());
        }
        iced::exit()
    }

    /// The theme: the one asked for, else (`None`) iced's light or dark
    /// as the desktop prefers.
    pub fn theme(&self) -> Option<iced::Theme> {
        self.theme.clone()
    }

    /// The window title: the server and the path.
    pub fn title(&self) -> String {
        format!("docgrid — {} — {}", self.server, self.browser.path())
    }

    /// What the application listens to.
    pub fn subscription(&self) -> Subscription<Msg> {
        let keys = keyboard::listen().filter_map(|e| match e {
            keyboard::Event::KeyPressed { key, modifiers, .. } => Some(Msg::Key(key, modifiers)),
            _ => None,
        });
        let changes = Subscription::run_with(self.changes.clone(), change_stream)
            .map(|c| Msg::Browser(Message::Changed(c)));
        // Files dragged over the window and dropped; and, as the window
        // cannot hear a button come up outside it, a drag or a resize that
        // leaves the window ends there.
        let window_events = iced::event::listen_with(|event, _, _| {
            let m = match event {
                iced::Event::Window(window::Event::FileHovered(_)) => ImportMsg::Hovered,
                iced::Event::Window(window::Event::FilesHoveredLeft) => ImportMsg::Left,
                iced::Event::Window(window::Event::FileDropped(p)) => ImportMsg::Dropped(p),
                iced::Event::Mouse(iced::mouse::Event::CursorLeft) => {
                    return Some(Msg::Browser(Message::PointerUp));
                }
                _ => return None,
            };
            Some(Msg::Browser(Message::Import(m)))
        });
        let frames = match self.first_paint {
            Some(_) => window::frames().map(|_| Msg::Frame),
            None => Subscription::none(),
        };
        Subscription::batch([keys, changes, window_events, frames])
    }

    /// The window's content.
    pub fn view(&self) -> Element<'_, Msg> {
        crate::view::view(&self.browser).map(Msg::Browser)
    }
}

/// How long the window is given to draw before a `--screenshot`.
const SETTLE: Duration = Duration::from_millis(500);

/// The tree's changes as a stream (each awaited on a thread of its own).
fn change_stream(changes: &Changes) -> impl Stream<Item = Changed> + use<> {
    let rx = changes.0.clone();
    iced::futures::stream::unfold(rx, |rx| async move {
        let c = AsyncTree::next_change(rx.clone()).await.ok()?;
        Some((c, rx))
    })
}

/// Ctrl+F (⌘F) and `/` go to the search box.
fn is_search_key(key: &keyboard::Key, mods: keyboard::Modifiers) -> bool {
    match key.as_ref() {
        keyboard::Key::Character("/") => true,
        keyboard::Key::Character(c) => mods.command() && c.eq_ignore_ascii_case("f"),
        _ => false,
    }
}

/// The browser's meaning of a key.
pub fn browser_key(key: &keyboard::Key) -> Option<Key> {
    Some(match key.as_ref() {
        keyboard::Key::Named(Named::ArrowUp) => Key::Up,
        keyboard::Key::Named(Named::ArrowDown) => Key::Down,
        keyboard::Key::Named(Named::ArrowLeft) => Key::Left,
        keyboard::Key::Named(Named::ArrowRight) => Key::Right,
        keyboard::Key::Named(Named::Home) => Key::Home,
        keyboard::Key::Named(Named::End) => Key::End,
        keyboard::Key::Named(Named::Enter) => Key::Enter,
        keyboard::Key::Named(Named::Space) => Key::Space,
        keyboard::Key::Named(Named::Delete) => Key::Delete,
        keyboard::Key::Named(Named::Escape) => Key::Escape,
        keyboard::Key::Character(" ") => Key::Space,
        keyboard::Key::Character(c) => Key::Char(c.chars().next()?),
        _ => return None,
    })
}
