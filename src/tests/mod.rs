//! Integration tests (added below).
