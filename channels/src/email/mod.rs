//! Email over SMTP (lettre).
