//! PERSON / LOCATION / ORGANIZATION recall and precision of the model-free recognizer on text
//! generated here (seeded, reproducible): templates written for Gatehouse filled with names from
//! a held-out list (not in the embedded lists), names the lists know, places, organisations and
//! addresses, plus title-case negatives. It measures the rules without touching any data set.
//!
//! `cargo run --release -p gatehouse-detect --example eval_names_synth [ROWS] [SEED]`
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use gatehouse_detect::eval_spans::{Row, Span, Task, evaluate};
use gatehouse_detect::{DetectConfig, Engine};

/// Names the embedded lists do not contain (deliberately rare spellings; keep them out of
/// `names_data.rs`, or the recall on unknown names stops being measured).
const HELD_OUT: &[(&str, &str)] = &[
    ("Oskari", "Vähämäki"),
    ("Thandeka", "Mbekela"),
    ("Ravindu", "Jayasekara"),
    ("Ilkka", "Pursiainen"),
    ("Zdravko", "Kostadinov"),
    ("Auðun", "Sveinbjörnsson"),
    ("Kamaka", "Kealoha"),
    ("Zhanibek", "Abdrakhmanov"),
    ("Tavita", "Leausa"),
    ("Bronagh", "McGillycuddy"),
    ("Ifeyinwa", "Okwuosa"),
    ("Ludovica", "Sgarbossa"),
    ("Ejike", "Nwafor"),
    ("Dagný", "Hallgrímsdóttir"),
    ("Wirote", "Pattanakul"),
    ("Yerzhan", "Tokhtarov"),
    ("Kieron", "Trethewey"),
    ("Sânziana", "Vrânceanu"),
    ("Taini", "Yazzie"),
    ("Oisín", "O'Loughlin"),
];

const KNOWN: &[(&str, &str)] = &[
    ("John", "Smith"),
    ("Maria", "Fernandes"),
    ("Hiroshi", "Tanaka"),
    ("Priya", "Sharma"),
    ("Ahmed", "Hassan"),
    ("Olga", "Petrova"),
    ("Chinedu", "Okafor"),
    ("Lars", "Johansson"),
    ("Giulia", "Bianchi"),
    ("Mehmet", "Yilmaz"),
    ("Nguyen", "Van Minh"),
    ("Siobhan", "O'Connor"),
    ("Jean-Luc", "Moreau"),
    ("Ludwig", "van Beethoven"),
    ("Wei", "Zhang"),
    ("Fatima", "Al-Sayed"),
    ("Kwame", "Mensah"),
    ("Agnieszka", "Kowalczyk"),
    ("Dimitrios", "Papadopoulos"),
    ("Seo-yeon", "Park"),
];

const PLACES: &[&str] = &[
    "Germany",
    "Buenos Aires",
    "Nairobi",
    "Toronto",
    "São Paulo",
    "New Zealand",
    "Kraków",
    "Osaka",
    "Texas",
    "British Columbia",
    "Rio de Janeiro",
    "Lagos",
];

const ORGS: &[&str] = &[
    "Acme Widgets Ltd.",
    "Northwind Traders Inc.",
    "Brightline Software GmbH",
    "University of Lagos",
    "Ministry of Health",
    "Stanford University",
    "Riverside Bank",
    "Helios Energy AG",
    "Bank of Montreal",
    "Ferro Logistics S.p.A.",
];

const ADDRESSES: &[&str] = &[
    "221 Baker Street",
    "1600 Pennsylvania Avenue",
    "42 Elm Road",
    "7 Harbour View Drive",
    "350 Fifth Avenue",
];

/// Title-case text without any entity.
const NEGATIVES: &[&str] = &[
    "The Quarterly Business Review is scheduled for next week.",
    "Click Save Changes to continue, then open the Settings Menu.",
    "Please read the Terms of Service and the Privacy Policy.",
    "New Features in Version 2: Dark Mode and Faster Search.",
    "Our Customer Success Manager will reply within two days.",
    "The Machine Learning Pipeline failed at the Data Validation step.",
    "Release Notes: Bug Fixes and Performance Improvements.",
    "Use the Export button to download the Monthly Report.",
    "Grant Proposal Deadline is Friday.",
    "May I ask why the Build Server is down?",
];

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) as usize
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.next() % xs.len()]
    }
    fn word(&mut self, xs: &[&'static str]) -> &'static str {
        xs[self.next() % xs.len()]
    }
}

/// A row under construction: text plus spans in Unicode scalar offsets.
#[derive(Default)]
struct Builder {
    text: String,
    spans: Vec<Span>,
}
impl Builder {
    fn lit(&mut self, s: &str) -> &mut Self {
        self.text.push_str(s);
        self
    }
    fn ent(&mut self, s: &str, kind: &str) -> &mut Self {
        let start = self.text.chars().count();
        self.text.push_str(s);
        self.spans.push(Span {
            start,
            end: start + s.chars().count(),
            kind: kind.to_owned(),
        });
        self
    }
}

fn person(rng: &mut Rng) -> (String, String) {
    let (f, l) = if rng.next().is_multiple_of(2) {
        rng.pick(HELD_OUT)
    } else {
        rng.pick(KNOWN)
    };
    ((*f).to_owned(), (*l).to_owned())
}

fn row(rng: &mut Rng) -> Row {
    let mut b = Builder::default();
    let (f, l) = person(rng);
    let full = format!("{f} {l}");
    let (f2, l2) = person(rng);
    let full2 = format!("{f2} {l2}");
    match rng.next() % 16 {
        0 => b
            .lit("Please forward this to ")
            .ent(&full, "PERSON")
            .lit(" by Friday."),
        1 => b
            .ent(&full, "PERSON")
            .lit(" said the shipment would arrive on Monday."),
        2 => b
            .lit("Dear ")
            .ent(&full, "PERSON")
            .lit(",\nThank you for your order."),
        3 => b
            .lit("Thanks for the update.\n\nBest regards,\n")
            .ent(&full, "PERSON"),
        4 => b
            .lit("Meeting with ")
            .ent(&full, "PERSON")
            .lit(" and ")
            .ent(&full2, "PERSON")
            .lit(" at ")
            .ent(rng.word(ORGS), "ORGANIZATION")
            .lit(" next week."),
        5 => b
            .lit("According to ")
            .ent(&full, "PERSON")
            .lit(", the numbers are wrong."),
        6 => b
            .lit("Contact Dr. ")
            .ent(&l, "PERSON")
            .lit(" for the test results."),
        7 => b
            .ent(&full, "PERSON")
            .lit("'s account was locked yesterday."),
        8 => b
            .lit("The report was written by ")
            .ent(&full, "PERSON")
            .lit(" from ")
            .ent(rng.word(ORGS), "ORGANIZATION")
            .lit("."),
        9 => b
            .lit("I live at ")
            .ent(rng.word(ADDRESSES), "LOCATION")
            .lit(" in ")
            .ent(rng.word(PLACES), "LOCATION")
            .lit("."),
        10 => b
            .lit("Our office is located in ")
            .ent(rng.word(PLACES), "LOCATION")
            .lit(" and we ship worldwide."),
        11 => b
            .lit("She joined ")
            .ent(rng.word(ORGS), "ORGANIZATION")
            .lit(" after moving to ")
            .ent(rng.word(PLACES), "LOCATION")
            .lit("."),
        12 => b
            .lit("Patient: ")
            .ent(&full, "PERSON")
            .lit("\nReferred by Prof. ")
            .ent(&full2, "PERSON")
            .lit("."),
        13 => b
            .lit("Attendees: ")
            .ent(&full, "PERSON")
            .lit(", ")
            .ent(&full2, "PERSON")
            .lit(" and the team."),
        14 => b.lit(rng.word(NEGATIVES)),
        _ => b
            .lit("Hi ")
            .ent(&f, "PERSON")
            .lit(", can you send the invoice to Mr. ")
            .ent(&l2, "PERSON")
            .lit("?"),
    };
    Row {
        text: Some(b.text.clone()),
        spans: std::mem::take(&mut b.spans),
        label: None,
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(2000);
    let seed: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(7);
    let mut rng = Rng(seed);
    let rows: Vec<Row> = (0..n).map(|_| row(&mut rng)).collect();
    let engine = Engine::new(&DetectConfig::default()).expect("engine");
    let errors = std::env::var("ERRORS")
        .ok()
        .and_then(|e| e.parse().ok())
        .unwrap_or(0);
    print!("{}", evaluate(&engine, Task::Pii, &rows, errors));
}
