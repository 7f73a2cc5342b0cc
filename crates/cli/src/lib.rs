//! `yadokari`, the command-line tool, as a library: the binary is a thin
//! `main` over [`cli::run`], and the fuzz target and tests drive
//! [`inspect::inspect`] without spawning a process.
//!
//! Layers of `inspect`, bottom up: [`capture`] (pcap/pcapng, link, IP, UDP,
//! IP reassembly), [`keys`] (Wireshark IKEv2 key tables), [`ike`] (IKE
//! message and payload decoding, SK/SKF decryption), [`record`] (the JSON
//! model), [`output`] (JSON Lines and table), [`inspect`] (the pipeline).

#![forbid(unsafe_code)]

pub mod capture;
pub mod cli;
pub mod control_cmd;
pub mod ike;
pub mod inspect;
pub mod keys;
pub mod output;
pub mod record;
