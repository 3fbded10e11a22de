//! Shared helpers for msgring model tests.
