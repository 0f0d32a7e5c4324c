//! Black-box tests: each starts a hub on port 0 against a fresh database and talks to it over HTTP.

mod abuse;
mod architecture;
mod chat;
mod chat_languages;
mod console;
mod console_staff;
mod emergency;
mod faults;
mod foundation;
mod hardening;
mod jma;
mod leases;
mod limits;
mod notices;
mod registration;
mod resident_pages;
mod segments_live;
mod staff_access;
mod support;
mod surveys;
