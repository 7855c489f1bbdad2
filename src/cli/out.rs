//! Standard output for the terminal commands. `println!` panics when stdout is closed early
//! (`vibe config | head -0`); these end the process quietly instead, with the status a
//! program killed by SIGPIPE has (141), and any other write error is reported, not a panic.

use std::io::Write;

/// Writes to stdout; on failure ends the process as described above.
pub fn write(args: std::fmt::Arguments<'_>, newline: bool) {
    let mut o = std::io::stdout().lock();
    let written = o
        .write_fmt(args)
        .and_then(|()| if newline { o.write_all(b"\n") } else { Ok(()) });
    if let Err(e) = written {
        closed(&e);
    }
}

/// Writes `text` and flushes it, reporting a failure to the caller: for output that must not
/// be lost silently (a token shown once).
pub fn write_flushed(text: &str) -> std::io::Result<()> {
    let mut o = std::io::stdout().lock();
    o.write_all(text.as_bytes())?;
    o.flush()
}

fn closed(e: &std::io::Error) -> ! {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(141);
    }
    eprintln!("error: can't write to standard output: {e}");
    std::process::exit(1);
}

/// Whether what is written to stdout can reach anyone. The Rust runtime points a closed stdout
/// at /dev/null before `main`, so a closed one and `> /dev/null` look the same: both go
/// nowhere, which matters for output shown only once (a token). Where the system can't say,
/// it is assumed to reach someone.
pub fn stdout_is_open() -> bool {
    match std::fs::canonicalize("/dev/fd/1") {
        Ok(target) => target != std::path::Path::new("/dev/null"),
        Err(_) => true,
    }
}
