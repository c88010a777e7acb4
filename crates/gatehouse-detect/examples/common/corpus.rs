//! The generated mixed English corpus shared by `throughput` and `scan_profile`.
#![allow(dead_code)]

const SENTENCES: &[&str] = &[
    "The quarterly report shows that revenue grew by 12 percent compared with last year.",
    "Please review the attached document and send your comments before Friday.",
    "Our team will meet in the main conference room to discuss the roadmap for the next release.",
    "If the build fails again, check the logs and restart the pipeline from the last green commit.",
    "Customers asked for better search, faster exports and a dark mode in the dashboard.",
    "The model answered the question correctly but the explanation was too long for the user.",
    "We moved the database to a new cluster, and latency dropped from 40 ms to 12 ms at p99.",
    "Remember to rotate credentials regularly and never commit them to the repository.",
    "In 2023 the company opened offices in three new countries and hired 250 engineers.",
    "The function returns an error when the input is empty or longer than 4096 bytes.",
];

const SENSITIVE: &[&str] = &[
    "You can reach Maria Garcia at maria.garcia@example.com or +44 20 7946 0958.",
    "Card on file: 4111 1111 1111 1111, IBAN GB82 WEST 1234 5698 7654 32.",
    "export AWS_ACCESS_KEY_ID=AKIAQYLPMN5HFIQR7XYZ",
    "The server at 10.20.30.40 rejected the login for john.smith@corp.example.",
    "token = \"ghp_R2b7rN4tZ8qL1mK9xV3cW6yH0pJ5sD2fG7aB\"",
];

pub fn corpus(bytes: usize) -> String {
    let mut s = String::with_capacity(bytes + 256);
    let mut i = 0usize;
    while s.len() < bytes {
        s.push_str(SENTENCES[i % SENTENCES.len()]);
        s.push(' ');
        if i % 20 == 19 {
            s.push_str(SENSITIVE[(i / 20) % SENSITIVE.len()]);
            s.push('\n');
        }
        i += 1;
    }
    s
}

/// Splits `text` into documents of about `size` bytes (on char boundaries).
pub fn split(text: &str, size: usize) -> Vec<&str> {
    let mut docs = Vec::new();
    let mut start = 0;
    while start < text.len() {
        let mut end = (start + size).min(text.len());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        docs.push(&text[start..end]);
        start = end;
    }
    docs
}
