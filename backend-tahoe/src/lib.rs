//! `docgrid-backend-tahoe`: a `BlobStore` over a Tahoe-LAFS gateway. Not built
//! yet (issue "[3/5] Tahoe-LAFS backend"); this crate only fixes its place in
//! the workspace. It will run `docgrid_core::store::conformance` like every
//! other store.
