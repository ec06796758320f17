//! `procbook book --serve`: the built book over HTTP on 127.0.0.1 only, until Ctrl-C. A
//! static-file server small enough to read: GET and HEAD, one thread per connection, no
//! keep-alive, nothing outside the book's folder.

use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::thread;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::demos::Out;
use crate::engine::cancel;

/// The port to try first (mdBook's own `serve` uses it too); any free one if it is taken.
const PORT: u16 = 3000;

/// Serve `dir` until Ctrl-C; open it in the browser first if `open`.
pub fn serve(dir: &Path, open: bool, out: Out) -> Result<()> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, PORT))
        .or_else(|_| TcpListener::bind((Ipv4Addr::LOCALHOST, 0)))
        .context("listening on 127.0.0.1")?;
    let url = format!("http://{}/", listener.local_addr()?);
    writeln!(out, "Serving the book on {url} (Ctrl-C to stop)")?;
    out.flush()?;
    if open {
        super::open(&url)?;
    }
    listener.set_nonblocking(true)?;
    while !cancel::requested() {
        match listener.accept() {
            Ok((stream, _)) => {
                let dir = dir.to_path_buf();
                thread::spawn(move || {
                    let _ = answer(stream, &dir);
                });
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                thread::sleep(Duration::from_millis(50));
            }
            Err(e) => return Err(e).context("accepting a connection"),
        }
    }
    writeln!(out, "Stopped serving the book.")?;
    Ok(())
}

/// Read one request and send one response.
fn answer(stream: TcpStream, dir: &Path) -> Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request = String::new();
    reader.read_line(&mut request)?;
    // The headers say nothing a static server needs; read them so the client is not cut off.
    let mut header = String::new();
    while reader.read_line(&mut header)? > 2 {
        header.clear();
    }
    let mut words = request.split_whitespace();
    let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or("/"));
    let mut stream = stream;
    if method != "GET" && method != "HEAD" {
        return respond(
            &mut stream,
            "405 Method Not Allowed",
            "text/plain",
            b"",
            true,
        );
    }
    let (status, file) = match file_for(dir, target) {
        Some(file) => ("200 OK", file),
        None => ("404 Not Found", dir.join("404.html")),
    };
    let body = std::fs::read(&file).unwrap_or_else(|_| b"not found".to_vec());
    respond(
        &mut stream,
        status,
        content_type(&file),
        &body,
        method == "HEAD",
    )
}

fn respond(
    stream: &mut TcpStream,
    status: &str,
    kind: &str,
    body: &[u8],
    head_only: bool,
) -> Result<()> {
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\n\
         Cache-Control: no-cache\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    if !head_only {
        stream.write_all(body)?;
    }
    stream.flush()?;
    Ok(())
}

/// The file a request path names inside `dir`, if there is one; never a path outside it.
fn file_for(dir: &Path, target: &str) -> Option<PathBuf> {
    let path = target.split(['?', '#']).next().unwrap_or("/");
    let path = percent_decode(path)?;
    let mut file = dir.to_path_buf();
    for part in Path::new(&path).components() {
        match part {
            Component::Normal(part) => file.push(part),
            Component::RootDir | Component::CurDir => {}
            Component::ParentDir | Component::Prefix(_) => return None,
        }
    }
    if file.is_dir() {
        file.push("index.html");
    }
    file.is_file().then_some(file)
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn content_type(file: &Path) -> &'static str {
    match file.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "ttf" => "font/ttf",
        "otf" => "font/otf",
        "txt" | "md" | "py" | "rs" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_files_inside_the_book_are_served() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        assert_eq!(file_for(&dir, "/book.rs?x=1"), Some(dir.join("book.rs")));
        assert_eq!(file_for(&dir, "/%62ook.rs"), Some(dir.join("book.rs")));
        assert_eq!(file_for(&dir, "/../Cargo.toml"), None);
        assert_eq!(file_for(&dir, "/%2e%2e/Cargo.toml"), None);
        assert_eq!(file_for(&dir, "/nothing.here"), None);
    }
}
