//! msgring
