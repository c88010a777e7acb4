#!/usr/bin/env python3
"""Gatehouse vs Presidio (pattern recognizers) vs detect-secrets on one generated corpus.

    python3 -m venv .venv-compare && .venv-compare/bin/pip install presidio-analyzer detect-secrets
    cargo build --release -p gatehouse
    .venv-compare/bin/python bench/compare/detectors.py --gatehouse target/release/gatehouse

The corpus is generated here (seeded, no external data): ordinary sentences with embedded,
checksum-valid PII (e-mail, phone, credit card, IBAN, US SSN, IPv4) and provider-shaped secrets.
Each tool runs on the same texts; quality is span-overlap precision/recall per type, speed is
MB/s of input text on one process. Presidio runs only its predefined *pattern* recognizers (no
spaCy model), which is how it is usually compared for structured PII.
"""
import argparse, json, logging, random, string, subprocess, sys, time, zlib

logging.disable(logging.CRITICAL)
R = random.Random(20261125)
FILLER = [
    "Please review the attached quarterly numbers before the meeting.",
    "The deployment finished without errors on the staging cluster.",
    "Our team will follow up with the customer next week.",
    "Remember to rotate the on-call schedule for December.",
    "The invoice was approved by finance this morning.",
]

def luhn_complete(prefix, length):
    digits = [int(c) for c in prefix]
    while len(digits) < length - 1:
        digits.append(R.randrange(10))
    s = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 0:
            d *= 2
            if d > 9: d -= 9
        s += d
    digits.append((10 - s % 10) % 10)
    return "".join(map(str, digits))

def iban(country, bban_len):
    bban = "".join(R.choice(string.digits) for _ in range(bban_len))
    num = "".join(str(int(c, 36)) for c in bban + country + "00")
    check = 98 - int(num) % 97
    return f"{country}{check:02d}{bban}"

def ssn():
    while True:
        a, g, s = R.randrange(1, 900), R.randrange(1, 100), R.randrange(1, 10000)
        if a != 666:
            return f"{a:03d}-{g:02d}-{s:04d}"

B62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
def b62(n, width):
    out = ""
    while n:
        n, r = divmod(n, 62)
        out = B62[r] + out
    return out.rjust(width, "0")

def github_token():
    body = "".join(R.choice(B62) for _ in range(30))
    return "ghp_" + body + b62(zlib.crc32(body.encode()), 6)

def rand(alpha, n):
    return "".join(R.choice(alpha) for _ in range(n))

GEN = {
    "EMAIL_ADDRESS": lambda: f"{rand(string.ascii_lowercase, 6)}.{rand(string.ascii_lowercase, 5)}@{R.choice(['acme-mail.com','corp.io','example.org'])}",
    "PHONE_NUMBER": lambda: R.choice(["+1 415 555 {:04d}", "(212) 555-{:04d}", "+44 20 7946 {:04d}"]).format(R.randrange(10000)),
    "CREDIT_CARD": lambda: R.choice([luhn_complete("4", 16), luhn_complete("5" + str(R.randrange(1, 6)), 16), luhn_complete("37", 15)]),
    "IBAN_CODE": lambda: R.choice([iban("DE", 18), iban("GB", 18)]) if False else iban("DE", 18),
    "US_SSN": ssn,
    "IP_ADDRESS": lambda: ".".join(str(R.randrange(1, 255)) for _ in range(4)),
}
SECRETS = {
    "aws-access-token": lambda: "AKIA" + rand(string.ascii_uppercase + "234567", 16),
    "github-pat": github_token,
    "slack-bot-token": lambda: f"xoxb-{R.randrange(10**11, 10**12)}-{R.randrange(10**11, 10**12)}-{rand(string.ascii_letters + string.digits, 24)}",
    "stripe-access-token": lambda: "sk_live_" + rand(string.ascii_letters + string.digits, 24),
}
TEMPLATES = {
    "EMAIL_ADDRESS": "Send the report to {} today.",
    "PHONE_NUMBER": "Call me on {} after lunch.",
    "CREDIT_CARD": "The card on file is {} and it expires soon.",
    "IBAN_CODE": "Wire the deposit to IBAN {} by Friday.",
    "US_SSN": "Her social security number is {} according to the form.",
    "IP_ADDRESS": "The login came from {} last night.",
    "aws-access-token": "export AWS_ACCESS_KEY_ID={}",
    "github-pat": "git clone https://{}@github.com/acme/repo.git",
    "slack-bot-token": "SLACK_BOT_TOKEN={}",
    "stripe-access-token": 'stripe.api_key = "{}"',
}

def corpus(n):
    rows = []
    kinds = list(GEN) + list(SECRETS)
    for i in range(n):
        kind = kinds[i % len(kinds)]
        value = (GEN.get(kind) or SECRETS[kind])()
        pre = R.choice(FILLER) + " "
        text = pre + TEMPLATES[kind].format(value) + " " + R.choice(FILLER)
        start = text.index(value)
        rows.append({"id": str(i), "text": text, "spans": [{"start": start, "end": start + len(value), "type": kind}]})
    for i in range(n // 5):  # clean rows: false-positive bait
        rows.append({"id": f"c{i}", "text": " ".join(R.sample(FILLER, 3)) + f" Order {R.randrange(10**5)} ships in {R.randrange(2, 9)} days.", "spans": []})
    return rows

def score(rows, preds, types):
    out = {}
    for t in types:
        tp = fp = fn = 0
        for r in rows:
            gold = [s for s in r["spans"] if s["type"] == t]
            got = [p for p in preds.get(r["id"], []) if p["type"] == t]
            hit = lambda a, b: a["start"] < b["end"] and b["start"] < a["end"]
            tp += sum(1 for g in gold if any(hit(g, p) for p in got))
            fn += sum(1 for g in gold if not any(hit(g, p) for p in got))
            fp += sum(1 for p in got if not any(hit(g, p) for g in gold))
        p = tp / (tp + fp) if tp + fp else 0.0
        rc = tp / (tp + fn) if tp + fn else 0.0
        out[t] = (p, rc)
    return out

def run_gatehouse(binary, rows):
    inp = "".join(json.dumps({"id": r["id"], "text": r["text"], "direction": "input"}) + "\n" for r in rows)
    t = time.perf_counter()
    res = subprocess.run([binary, "scan", "--jsonl"], input=inp, capture_output=True, text=True)
    dt = time.perf_counter() - t
    preds = {}
    for line in res.stdout.splitlines():
        v = json.loads(line)
        preds[v["id"]] = [{"start": f["start"], "end": f["end"], "type": f["type"]} for f in v["findings"]]
    return preds, dt

def run_presidio(rows):
    from presidio_analyzer.predefined_recognizers import (EmailRecognizer, PhoneRecognizer, CreditCardRecognizer,
                                                          IbanRecognizer, UsSsnRecognizer, IpRecognizer)
    recs = [EmailRecognizer(), PhoneRecognizer(), CreditCardRecognizer(), IbanRecognizer(), UsSsnRecognizer(), IpRecognizer()]
    preds = {}
    t = time.perf_counter()
    for r in rows:
        got = []
        for rec in recs:
            for x in rec.analyze(r["text"], rec.supported_entities, None) or []:
                if x.score >= 0.3:
                    got.append({"start": x.start, "end": x.end, "type": x.entity_type})
        preds[r["id"]] = got
    return preds, time.perf_counter() - t

def run_detect_secrets(rows):
    from detect_secrets.core.scan import scan_line
    from detect_secrets.settings import default_settings
    preds = {}
    t = time.perf_counter()
    with default_settings():
        for r in rows:
            got = []
            for s in scan_line(r["text"]):
                v = s.secret_value or ""
                i = r["text"].find(v) if v else -1
                if i >= 0:
                    got.append({"start": i, "end": i + len(v), "type": "secret"})
            preds[r["id"]] = got
    return preds, time.perf_counter() - t

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gatehouse", default="target/release/gatehouse")
    ap.add_argument("--rows", type=int, default=5000)
    a = ap.parse_args()
    rows = corpus(a.rows)
    mb = sum(len(r["text"].encode()) for r in rows) / 1e6
    g, gt = run_gatehouse(a.gatehouse, rows)
    print(f"corpus: {len(rows)} texts, {mb:.2f} MB\n")
    pii = list(GEN)
    print("| type | Gatehouse P / R | Presidio (patterns) P / R |\n|---|---|---|")
    gs = score(rows, g, pii)
    try:
        p, pt = run_presidio(rows)
        ps = score(rows, p, pii)
    except Exception as e:  # not installed
        print(f"(presidio unavailable: {e})", file=sys.stderr)
        ps, pt = {}, None
    for t in pii:
        pp = ps.get(t)
        print(f"| {t} | {gs[t][0]:.3f} / {gs[t][1]:.3f} | " + (f"{pp[0]:.3f} / {pp[1]:.3f} |" if pp else "– |"))
    # Secrets: detect-secrets reports no provider type, so compare as one class.
    srows = [dict(r, spans=[dict(s, type="secret") for s in r["spans"] if s["type"] in SECRETS]) for r in rows]
    gsec = {k: [dict(x, type="secret") for x in v if x["type"] not in GEN and x["type"] not in ("DATE_TIME", "PERSON", "LOCATION", "URL")] for k, v in g.items()}
    print("\n| secrets (any rule) | precision | recall |\n|---|---|---|")
    s = score(srows, gsec, ["secret"])["secret"]
    print(f"| Gatehouse | {s[0]:.3f} | {s[1]:.3f} |")
    try:
        d, dt = run_detect_secrets(rows)
        s2 = score(srows, d, ["secret"])["secret"]
        print(f"| detect-secrets | {s2[0]:.3f} | {s2[1]:.3f} |")
    except Exception as e:
        print(f"(detect-secrets unavailable: {e})", file=sys.stderr)
        dt = None
    print("\n| tool | MB/s | speed-up of Gatehouse |\n|---|---:|---:|")
    print(f"| Gatehouse (PII + secrets, one process incl. start-up) | {mb / gt:.1f} | 1.0 |")
    if pt:
        print(f"| Presidio pattern recognizers (PII only) | {mb / pt:.2f} | {pt / gt:.0f}× |")
    if dt:
        print(f"| detect-secrets (secrets only) | {mb / dt:.2f} | {dt / gt:.0f}× |")

if __name__ == "__main__":
    main()
