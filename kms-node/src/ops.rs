//! The operator surface: `/health`, `/status` and `/metrics` over HTTP.
