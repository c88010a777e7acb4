//! Name lists for the model-free PERSON recognizer. Common given names and family names from
//! many languages, written for Gatehouse (lower case, ASCII-folded where the folding is usual).

pub(crate) const FIRST_NAMES: &[&str] = &[
    // English
    "james",
    "john",
    "robert",
    "michael",
    "william",
    "david",
    "richard",
    "joseph",
    "thomas",
    "charles",
    "christopher",
    "daniel",
    "matthew",
    "anthony",
    "mark",
    "donald",
    "steven",
    "paul",
    "andrew",
    "joshua",
    "kenneth",
    "kevin",
    "brian",
    "george",
    "timothy",
    "ronald",
    "edward",
    "jason",
    "jeffrey",
    "ryan",
    "jacob",
    "gary",
    "nicholas",
    "eric",
    "jonathan",
    "stephen",
    "larry",
    "justin",
    "scott",
    "brandon",
    "benjamin",
    "samuel",
    "gregory",
    "alexander",
    "frank",
    "patrick",
    "raymond",
    "jack",
    "dennis",
    "jerry",
    "tyler",
    "aaron",
    "jose",
    "adam",
    "nathan",
    "henry",
    "douglas",
    "zachary",
    "peter",
    "kyle",
    "noah",
    "ethan",
    "jeremy",
    "walter",
    "christian",
    "keith",
    "roger",
    "terry",
    "austin",
    "sean",
    "gerald",
    "carl",
    "harold",
    "dylan",
    "arthur",
    "lawrence",
    "jordan",
    "jesse",
    "bryan",
    "billy",
    "bruce",
    "gabriel",
    "joe",
    "logan",
    "alan",
    "juan",
    "albert",
    "willie",
    "elijah",
    "wayne",
    "randy",
    "vincent",
    "mason",
    "roy",
    "ralph",
    "bobby",
    "russell",
    "bradley",
    "philip",
    "eugene",
    "liam",
    "oliver",
    "lucas",
    "mary",
    "patricia",
    "jennifer",
    "linda",
    "elizabeth",
    "barbara",
    "susan",
    "jessica",
    "sarah",
    "karen",
    "lisa",
    "nancy",
    "betty",
    "sandra",
    "margaret",
    "ashley",
    "kimberly",
    "emily",
    "donna",
    "michelle",
    "carol",
    "amanda",
    "melissa",
    "deborah",
    "stephanie",
    "dorothy",
    "rebecca",
    "sharon",
    "laura",
    "cynthia",
    "amy",
    "kathleen",
    "angela",
    "shirley",
    "brenda",
    "emma",
    "anna",
    "pamela",
    "nicole",
    "samantha",
    "katherine",
    "christine",
    "helen",
    "debra",
    "rachel",
    "carolyn",
    "janet",
    "maria",
    "catherine",
    "heather",
    "diane",
    "olivia",
    "julie",
    "joyce",
    "victoria",
    "ruth",
    "virginia",
    "lauren",
    "kelly",
    "christina",
    "joan",
    "evelyn",
    "judith",
    "andrea",
    "hannah",
    "megan",
    "cheryl",
    "jacqueline",
    "martha",
    "madison",
    "teresa",
    "gloria",
    "sara",
    "janice",
    "ann",
    "kathryn",
    "abigail",
    "sophia",
    "frances",
    "jean",
    "alice",
    "judy",
    "isabella",
    "julia",
    "grace",
    "amber",
    "denise",
    "danielle",
    "marilyn",
    "beverly",
    "charlotte",
    "natalie",
    "theresa",
    "diana",
    "brittany",
    "doris",
    "kayla",
    "alexis",
    "lori",
    "marie",
    "ava",
    "mia",
    "chloe",
    "zoe",
    "lily",
    "ella",
    "harper",
    "amelia",
    "ruby",
    "jane",
    "kate",
    "lucy",
    "molly",
    "ellie",
    "jenny",
    "tom",
    "tim",
    "mike",
    "bob",
    "bill",
    "jim",
    "ben",
    "sam",
    "max",
    "leo",
    "alex",
    "chris",
    "nick",
    "dan",
    "matt",
    "tony",
    "steve",
    "dave",
    "rob",
    "greg",
    "hugh",
    "ian",
    "neil",
    "colin",
    "graham",
    "stuart",
    "gordon",
    "derek",
    "trevor",
    "nigel",
    "clive",
    // Spanish / Portuguese
    "carlos",
    "luis",
    "miguel",
    "javier",
    "alejandro",
    "manuel",
    "pedro",
    "pablo",
    "diego",
    "sergio",
    "jorge",
    "fernando",
    "ricardo",
    "eduardo",
    "raul",
    "andres",
    "antonio",
    "francisco",
    "rafael",
    "roberto",
    "alberto",
    "enrique",
    "joao",
    "tiago",
    "rodrigo",
    "gustavo",
    "marcelo",
    "felipe",
    "lucia",
    "carmen",
    "isabel",
    "ana",
    "laura",
    "elena",
    "paula",
    "sofia",
    "marta",
    "cristina",
    "rosa",
    "pilar",
    "beatriz",
    "raquel",
    "silvia",
    "patricia",
    "gabriela",
    "valentina",
    "camila",
    "mariana",
    "fernanda",
    "juliana",
    "leticia",
    "adriana",
    "daniela",
    "natalia",
    "veronica",
    "claudia",
    "alejandra",
    // French / Italian / German / Dutch
    "jean",
    "pierre",
    "michel",
    "philippe",
    "alain",
    "nicolas",
    "francois",
    "jacques",
    "bernard",
    "louis",
    "julien",
    "antoine",
    "mathieu",
    "olivier",
    "sebastien",
    "thierry",
    "pascal",
    "christophe",
    "guillaume",
    "marie",
    "nathalie",
    "isabelle",
    "sylvie",
    "catherine",
    "sophie",
    "camille",
    "chantal",
    "celine",
    "giuseppe",
    "giovanni",
    "marco",
    "francesco",
    "luca",
    "alessandro",
    "andrea",
    "matteo",
    "lorenzo",
    "stefano",
    "paolo",
    "roberto",
    "giulia",
    "francesca",
    "chiara",
    "valentina",
    "federica",
    "alessandra",
    "elisa",
    "martina",
    "silvia",
    "simona",
    "hans",
    "peter",
    "klaus",
    "jurgen",
    "wolfgang",
    "stefan",
    "andreas",
    "uwe",
    "dieter",
    "werner",
    "gunter",
    "horst",
    "helmut",
    "frank",
    "jorg",
    "tobias",
    "lukas",
    "leon",
    "felix",
    "jonas",
    "finn",
    "ursula",
    "monika",
    "petra",
    "sabine",
    "claudia",
    "susanne",
    "andrea",
    "birgit",
    "heike",
    "katrin",
    "anja",
    "lena",
    "lea",
    "hanna",
    "jan",
    "pieter",
    "hendrik",
    "willem",
    "johannes",
    "sanne",
    "femke",
    "anouk",
    "daan",
    "sem",
    "bram",
    "thijs",
    "ruben",
    // Nordic / Slavic / Hungarian / Greek / Turkish
    "lars",
    "erik",
    "anders",
    "nils",
    "johan",
    "magnus",
    "ole",
    "sven",
    "bjorn",
    "astrid",
    "ingrid",
    "sigrid",
    "freya",
    "karin",
    "linnea",
    "ivan",
    "dmitri",
    "dmitry",
    "sergei",
    "sergey",
    "alexei",
    "andrei",
    "nikolai",
    "vladimir",
    "mikhail",
    "olga",
    "tatiana",
    "natasha",
    "svetlana",
    "irina",
    "elena",
    "anastasia",
    "ekaterina",
    "piotr",
    "tomasz",
    "krzysztof",
    "pawel",
    "marek",
    "agnieszka",
    "katarzyna",
    "malgorzata",
    "joanna",
    "magdalena",
    "jakub",
    "jiri",
    "petr",
    "pavel",
    "tereza",
    "laszlo",
    "istvan",
    "zoltan",
    "gabor",
    "attila",
    "zsolt",
    "krisztian",
    "tamas",
    "ferenc",
    "sandor",
    "eszter",
    "zsofia",
    "katalin",
    "szabina",
    "agnes",
    "reka",
    "dora",
    "nikolaos",
    "georgios",
    "dimitris",
    "konstantinos",
    "eleni",
    "maria",
    "mehmet",
    "mustafa",
    "ahmet",
    "ali",
    "huseyin",
    "emre",
    "burak",
    "fatma",
    "ayse",
    "emine",
    "zeynep",
    "elif",
    // Arabic / Persian / South Asian
    "mohammed",
    "muhammad",
    "mohamed",
    "ahmed",
    "ahmad",
    "omar",
    "hassan",
    "hussein",
    "ibrahim",
    "khalid",
    "youssef",
    "yusuf",
    "abdullah",
    "karim",
    "tariq",
    "fatima",
    "aisha",
    "layla",
    "leila",
    "mariam",
    "noor",
    "zainab",
    "yasmin",
    "reza",
    "amir",
    "hamid",
    "parisa",
    "raj",
    "rahul",
    "amit",
    "sanjay",
    "vijay",
    "ravi",
    "arjun",
    "rohan",
    "vikram",
    "suresh",
    "ramesh",
    "anil",
    "sunil",
    "deepak",
    "priya",
    "anjali",
    "pooja",
    "neha",
    "sunita",
    "kavita",
    "divya",
    "lakshmi",
    "aarav",
    "ananya",
    "imran",
    "bilal",
    "ayesha",
    "sana",
    // East and South-East Asian
    "wei",
    "jing",
    "li",
    "ming",
    "hui",
    "yan",
    "xin",
    "lei",
    "jun",
    "hao",
    "yu",
    "fang",
    "min",
    "ying",
    "hiroshi",
    "takashi",
    "kenji",
    "yuki",
    "akira",
    "haruto",
    "sakura",
    "yui",
    "aiko",
    "naoko",
    "keiko",
    "satoshi",
    "minjun",
    "jiwoo",
    "seojun",
    "jisoo",
    "minji",
    "hyun",
    "nguyen",
    "minh",
    "thanh",
    "linh",
    "anh",
    "duc",
    // African
    "kwame",
    "kofi",
    "ama",
    "chinedu",
    "chioma",
    "ngozi",
    "oluwaseun",
    "tunde",
    "amara",
    "zola",
    "thabo",
    "sipho",
    "themba",
    "nomvula",
    "wanjiru",
    "kamau",
    "baraka",
    "abebe",
    "tsion",
];

pub(crate) const SURNAMES: &[&str] = &[
    "smith",
    "johnson",
    "williams",
    "brown",
    "jones",
    "garcia",
    "miller",
    "davis",
    "rodriguez",
    "martinez",
    "hernandez",
    "lopez",
    "gonzalez",
    "wilson",
    "anderson",
    "thomas",
    "taylor",
    "moore",
    "jackson",
    "martin",
    "lee",
    "perez",
    "thompson",
    "white",
    "harris",
    "sanchez",
    "clark",
    "ramirez",
    "lewis",
    "robinson",
    "walker",
    "young",
    "allen",
    "king",
    "wright",
    "scott",
    "torres",
    "nguyen",
    "hill",
    "flores",
    "green",
    "adams",
    "nelson",
    "baker",
    "hall",
    "rivera",
    "campbell",
    "mitchell",
    "carter",
    "roberts",
    "gomez",
    "phillips",
    "evans",
    "turner",
    "diaz",
    "parker",
    "cruz",
    "edwards",
    "collins",
    "reyes",
    "stewart",
    "morris",
    "morales",
    "murphy",
    "cook",
    "rogers",
    "gutierrez",
    "ortiz",
    "morgan",
    "cooper",
    "peterson",
    "bailey",
    "reed",
    "kelly",
    "howard",
    "ramos",
    "kim",
    "cox",
    "ward",
    "richardson",
    "watson",
    "brooks",
    "chavez",
    "wood",
    "james",
    "bennett",
    "gray",
    "mendoza",
    "ruiz",
    "hughes",
    "price",
    "alvarez",
    "castillo",
    "sanders",
    "patel",
    "myers",
    "long",
    "ross",
    "foster",
    "jimenez",
    "powell",
    "jenkins",
    "perry",
    "russell",
    "sullivan",
    "bell",
    "coleman",
    "butler",
    "henderson",
    "barnes",
    "gonzales",
    "fisher",
    "vasquez",
    "simmons",
    "romero",
    "jordan",
    "patterson",
    "alexander",
    "hamilton",
    "graham",
    "reynolds",
    "griffin",
    "wallace",
    "moreno",
    "west",
    "cole",
    "hayes",
    "bryant",
    "herrera",
    "gibson",
    "ellis",
    "tran",
    "medina",
    "aguilar",
    "stevens",
    "murray",
    "ford",
    "castro",
    "marshall",
    "owens",
    "harrison",
    "fernandez",
    "mcdonald",
    "woods",
    "washington",
    "kennedy",
    "wells",
    "vargas",
    "henry",
    "chen",
    "freeman",
    "webb",
    "tucker",
    "guzman",
    "burns",
    "crawford",
    "olson",
    "simpson",
    "porter",
    "hunter",
    "gordon",
    "mendez",
    "silva",
    "shaw",
    "snyder",
    "mason",
    "dixon",
    "munoz",
    "hunt",
    "hicks",
    "holmes",
    "palmer",
    "wagner",
    "black",
    "robertson",
    "boyd",
    "rose",
    "stone",
    "salazar",
    "fox",
    "warren",
    "mills",
    "meyer",
    "rice",
    "schmidt",
    "garza",
    "daniels",
    "ferguson",
    "nichols",
    "stephens",
    "soto",
    "weaver",
    "ryan",
    "gardner",
    "payne",
    "grant",
    "dunn",
    "kelley",
    "spencer",
    "hawkins",
    "arnold",
    "pierce",
    "vazquez",
    "hansen",
    "peters",
    "santos",
    "hart",
    "bradley",
    "knight",
    "elliott",
    "cunningham",
    "duncan",
    "armstrong",
    "hudson",
    "carroll",
    "lane",
    "riley",
    "andrews",
    "alvarado",
    "ray",
    "delgado",
    "berry",
    "perkins",
    "hoffman",
    "johnston",
    "matthews",
    "pena",
    "richards",
    "contreras",
    "willis",
    "carpenter",
    "lawrence",
    "sandoval",
    "obrien",
    "oconnor",
    "mccarthy",
    "byrne",
    "walsh",
    "doyle",
    "kelly",
    // European
    "muller",
    "mueller",
    "schneider",
    "fischer",
    "weber",
    "schulz",
    "becker",
    "hoffmann",
    "schafer",
    "koch",
    "bauer",
    "richter",
    "klein",
    "wolf",
    "schroder",
    "neumann",
    "schwarz",
    "zimmermann",
    "braun",
    "kruger",
    "hofmann",
    "hartmann",
    "lange",
    "werner",
    "krause",
    "lehmann",
    "kohler",
    "dubois",
    "durand",
    "lefebvre",
    "moreau",
    "laurent",
    "simon",
    "michel",
    "leroy",
    "roux",
    "david",
    "bertrand",
    "morel",
    "fournier",
    "girard",
    "bonnet",
    "dupont",
    "lambert",
    "fontaine",
    "rousseau",
    "rossi",
    "russo",
    "ferrari",
    "esposito",
    "bianchi",
    "romano",
    "colombo",
    "ricci",
    "marino",
    "greco",
    "bruno",
    "gallo",
    "conti",
    "deluca",
    "costa",
    "giordano",
    "mancini",
    "rizzo",
    "lombardi",
    "moretti",
    "jansen",
    "dejong",
    "devries",
    "vandenberg",
    "bakker",
    "visser",
    "smit",
    "meijer",
    "mulder",
    "bos",
    "vos",
    "peeters",
    "janssens",
    "maes",
    "jacobs",
    "mertens",
    "willems",
    "claes",
    "goossens",
    "nielsen",
    "jensen",
    "hansen",
    "pedersen",
    "andersen",
    "larsen",
    "johansson",
    "karlsson",
    "nilsson",
    "eriksson",
    "larsson",
    "olsson",
    "persson",
    "svensson",
    "gustafsson",
    "korhonen",
    "virtanen",
    "nieminen",
    "makinen",
    "hamalainen",
    "nowak",
    "kowalski",
    "wisniewski",
    "wojcik",
    "kowalczyk",
    "kaminski",
    "lewandowski",
    "zielinski",
    "szymanski",
    "novak",
    "svoboda",
    "novotny",
    "dvorak",
    "cerny",
    "nagy",
    "kovacs",
    "toth",
    "szabo",
    "horvath",
    "varga",
    "kiss",
    "molnar",
    "nemeth",
    "farkas",
    "balogh",
    "papp",
    "takacs",
    "juhasz",
    "szollosy",
    "gelencser",
    "ivanov",
    "smirnov",
    "kuznetsov",
    "popov",
    "vasiliev",
    "petrov",
    "sokolov",
    "mikhailov",
    "novikov",
    "fedorov",
    "morozov",
    "volkov",
    "alekseev",
    "lebedev",
    "semenov",
    "egorov",
    "pavlov",
    "kozlov",
    "papadopoulos",
    "georgiou",
    "nikolaidis",
    "yilmaz",
    "kaya",
    "demir",
    "sahin",
    "celik",
    "yildiz",
    "yildirim",
    "ozturk",
    "aydin",
    "ozdemir",
    "arslan",
    "dogan",
    "popescu",
    "ionescu",
    "horvat",
    "kovacevic",
    "jovanovic",
    "petrovic",
    "nikolic",
    "markovic",
    "djordjevic",
    // Iberian / Latin American
    "fernandes",
    "pereira",
    "oliveira",
    "souza",
    "rodrigues",
    "alves",
    "lima",
    "carvalho",
    "gomes",
    "ribeiro",
    "martins",
    "araujo",
    "barbosa",
    "cardoso",
    "teixeira",
    "correia",
    "dias",
    "moura",
    "navarro",
    "dominguez",
    "vega",
    "suarez",
    "molina",
    "blanco",
    "iglesias",
    "rubio",
    "serrano",
    "ortega",
    "nunez",
    "cabrera",
    "campos",
    "vidal",
    "fuentes",
    "carrasco",
    "caballero",
    "leon",
    // Asian / Middle Eastern / African
    "wang",
    "li",
    "zhang",
    "liu",
    "yang",
    "huang",
    "zhao",
    "wu",
    "zhou",
    "xu",
    "sun",
    "ma",
    "zhu",
    "hu",
    "guo",
    "he",
    "lin",
    "gao",
    "luo",
    "zheng",
    "liang",
    "xie",
    "tang",
    "han",
    "cao",
    "deng",
    "feng",
    "wong",
    "chan",
    "cheung",
    "lau",
    "ng",
    "ho",
    "tan",
    "lim",
    "ong",
    "goh",
    "chua",
    "teo",
    "koh",
    "sato",
    "suzuki",
    "takahashi",
    "tanaka",
    "watanabe",
    "ito",
    "yamamoto",
    "nakamura",
    "kobayashi",
    "kato",
    "yoshida",
    "yamada",
    "sasaki",
    "yamaguchi",
    "matsumoto",
    "inoue",
    "kimura",
    "park",
    "choi",
    "jung",
    "kang",
    "cho",
    "yoon",
    "jang",
    "lim",
    "han",
    "shin",
    "tran",
    "le",
    "pham",
    "hoang",
    "phan",
    "vu",
    "dang",
    "bui",
    "do",
    "sharma",
    "singh",
    "kumar",
    "gupta",
    "verma",
    "reddy",
    "rao",
    "iyer",
    "nair",
    "menon",
    "das",
    "bose",
    "mehta",
    "shah",
    "joshi",
    "desai",
    "kapoor",
    "malhotra",
    "chopra",
    "khan",
    "hussain",
    "ali",
    "ahmed",
    "rahman",
    "siddiqui",
    "qureshi",
    "sheikh",
    "haddad",
    "khoury",
    "nasser",
    "saleh",
    "mansour",
    "farah",
    "hassan",
    "abdullah",
    "cohen",
    "levi",
    "mizrahi",
    "friedman",
    "katz",
    "goldberg",
    "rosenberg",
    "okafor",
    "okonkwo",
    "adeyemi",
    "mensah",
    "owusu",
    "boateng",
    "mwangi",
    "otieno",
    "kamau",
    "dlamini",
    "nkosi",
    "ndlovu",
    "mokoena",
    "tshabalala",
];

/// Capitalised words that are never names on their own (sentence starters, calendar words,
/// common title-case nouns).
pub(crate) const NOT_NAMES: &[&str] = &[
    "the",
    "a",
    "an",
    "this",
    "that",
    "these",
    "those",
    "i",
    "we",
    "you",
    "he",
    "she",
    "it",
    "they",
    "my",
    "our",
    "your",
    "his",
    "her",
    "their",
    "is",
    "are",
    "was",
    "were",
    "be",
    "and",
    "or",
    "but",
    "if",
    "when",
    "where",
    "what",
    "who",
    "why",
    "how",
    "please",
    "thanks",
    "thank",
    "hello",
    "hi",
    "dear",
    "yes",
    "no",
    "not",
    "in",
    "on",
    "at",
    "by",
    "for",
    "from",
    "to",
    "of",
    "with",
    "as",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "mr",
    "mrs",
    "ms",
    "dr",
    "prof",
    "sir",
    "madam",
    "street",
    "st",
    "avenue",
    "road",
    "rd",
    "lane",
    "drive",
    "city",
    "county",
    "state",
    "inc",
    "ltd",
    "llc",
    "corp",
    "company",
    "university",
    "bank",
    "hospital",
    "school",
    "north",
    "south",
    "east",
    "west",
    "new",
    "san",
    "santa",
    "los",
    "las",
    "el",
    "la",
    "le",
    "de",
    "del",
    "da",
    "di",
    "van",
    "von",
    "der",
    "den",
    "apt",
    "suite",
    "unit",
    "po",
    "box",
    "email",
    "phone",
    "address",
    "name",
    "account",
    "card",
    "number",
    "date",
    "time",
    "today",
    "tomorrow",
    "yesterday",
    "god",
    "christmas",
    "easter",
    "english",
    "french",
    "german",
    "spanish",
    "american",
    "british",
    "european",
    "internet",
    "ok",
    "okay",
    "also",
    "after",
    "before",
    "then",
    "there",
    "here",
    "all",
    "any",
    "some",
    "every",
    "can",
    "could",
    "will",
    "would",
    "should",
    "shall",
    "might",
    "must",
    "do",
    "does",
    "did",
    "has",
    "have",
    "had",
    "let",
    "lets",
    "just",
    "so",
    "because",
    "while",
    "since",
    "until",
    "about",
    "over",
    "under",
    "into",
    "out",
    "up",
    "down",
    "its",
    "his",
    "one",
    "two",
    "three",
    "first",
    "last",
    "next",
    "best",
    "regards",
    "sincerely",
    "cheers",
    "team",
    "customer",
    "service",
    "support",
    "ceo",
    "cto",
    "cfo",
    "manager",
    "director",
    "president",
    "officer",
    "doctor",
    "professor",
];

/// More given names (whitespace-separated, split once at start-up), by language area.
pub(crate) const MORE_FIRST_NAMES: &str = "
aaliyah abby abraham ada adrian adrienne agatha agnes aidan aileen alana alastair alberta alec
alexa alexandra alexandria alfred alfie alicia alison allison alma alvin alyssa amos andre andrea
andy angel angelica angelina angie anita annabel annabelle anne annette annie antoinette april
archie ariana arianna ariel arlene arnold ashton aubrey audrey aurora avery barry basil beatrice
becky belinda bella benedict bernadette bernard bernice bertha beth bethany betsy beverley bianca
blake bonnie boris bradford brad brady brenna brent bret brett bridget britney brooke brooklyn
bryce caitlin caleb callum calvin cameron candace cara carla carlton carmen carol caroline carolina
carrie casey cassandra cassidy catalina cathy cecil cecilia cedric celeste chad chandler charlene
charlie chelsea cheryl chester christa christie christy ciara cindy claire clara clarence clarissa
claude claudette clayton clifford clifton clint clinton cody colleen connor conor constance cora
corey cornelius courtney craig curtis cynthia dale dallas dalton damian damon dana danny daphne
darla darlene darnell darren darryl daryl dave dawson deanna debbie declan deirdre delia della
delores demi denis derrick desmond devin devon dexter diego dillon dolores dominic don donovan
dora doreen dorian dorothea dottie doug duane duncan dustin dwight earl eddie edgar edith edmund
edna eileen elaine eleanor elinor eliza ella ellen elliot elliott ellis eloise elsie elvis emilia
emmett enid erica erika erin ernest ernie esther ethel eugenia eva evan evangeline everett ezra
felicity fiona florence floyd flynn francine franklin freddie frederick freda gabrielle gail gareth
garrett gavin gemma gene geneva genevieve geoffrey geoff georgia georgina gerard gertrude gilbert
gillian gina ginger gladys glen glenda glenn gloria godfrey gracie greta gretchen gwen gwendolyn
hailey haley hank harley harold harriet harrison harry harvey hayden hazel heath hector heidi
herbert herman hilda hillary holly homer horace howard hubert hugo imogen ingrid irene irma irving
isaac isaiah isla ivan ivy jacklyn jackie jackson jacob jade jaden jaime jake jamal jamie jared
jasmine jasper jay jayden jeanette jeanne jeff jeffery jenna jerome jess jillian jim jo joan joann
joanna jocelyn jodi joel joey johnny jolene jon jonah josephine josh josie joy judith jules julian
juliet julius june justine kaitlyn kara karl kasey kate katelyn katharine kathy katie katrina kay
kaylee keira kelsey kendra kenny kerry kieran kirk kirsten kristen kristin kristina kristy kurt
kylie lacey lana lance larissa laurel lauren laurence leah leanne lee leigh lena lenny leon
leonard leonardo leroy leslie lester lewis lillian lilly lincoln lindsay lindsey lionel lloyd lois
lorna lorraine louie louise lowell luke luther lydia lyle lynn lynne mabel mackenzie madeline
madeleine maggie malcolm mandy marc marcia marcus margaret margie maria marian marianne marion
marjorie marlene marshall martin marvin maureen maurice mavis maxine maxwell megan meghan melanie
melinda melody melvin meredith michaela mildred millie milton miranda miriam mitchell mollie monica
morgan muriel myra myrtle nadia nancy naomi natasha nathaniel neal ned nell nellie nelson nina
noel nora norma norman olive oscar owen pam pamela patsy patty paige pearl peggy penelope percy
perry phil phoebe phyllis piper polly preston priscilla quentin quinn rachael ralph randall
reagan rebekah reggie reginald regina rhonda ricky riley rita robbie robin rodney roland ronnie
rosalind rosemary ross rowan roxanne rudolph rufus russ ruth sabrina sadie sally sammy sandra
savannah scarlett selena seth shane shannon shaun shawn sheila shelby shelley sheryl sidney
simone skyler sonia sophie spencer stacey stacy stanley stella stephan stephanie sue susie suzanne
sydney sylvia tabitha tamara tammy tanya tara taylor ted teddy terence terrence tessa thelma
theo theodore tiffany tina toby todd tommy tonya tracey tracy travis trent tristan troy trudy
ursula valerie vanessa vaughn vera vernon veronica vicki vickie vincent viola violet vivian
wade wallace wanda warren wendy wesley whitney wilbur wilfred wilma winifred winston wyatt
yolanda yvette yvonne zachary zane zelda
abril adela adolfo adriano agustin aida alba alfonso alfredo alicia alonso alvaro amalia amparo
anabel angeles araceli armando arturo aurelio barbara bartolome benito blanca borja bruno carla
carolina cayetano cesar concepcion consuelo cristobal dario dolores domingo efren emilio ernesto
esperanza esteban eugenia eva fabiola facundo federico felix fermin fidel florencia gaspar gerardo
gilberto gloria gonzalo graciela guadalupe guillermo gustavo hernan hilario horacio hugo ignacio
ines inmaculada irene isidro jacinto jaime jesus jimena joaquin jordi josefa josefina julian julio
lorena lourdes lucas luciano macarena manuela marcela marcos margarita maribel marisol mario
mauricio maximiliano mercedes milagros mireia miriam moises montserrat nerea nestor nicolas noelia
nuria octavio olga osvaldo pascual patricio paloma perla ramiro ramon reinaldo remedios renata
rigoberto rocio rogelio rolando ruben salvador santiago saul sebastian socorro soledad susana
teodoro tomas ulises valeria vicente victor victoria wilfredo ximena yolanda zulema xavier
adriana alessandra aline andre antonia augusto benedita caio camila cecilia cristiano davi debora
edson elaine eliane fabiana fabio flavia francisca geraldo gisele graca heitor helena henrique
igor isadora jessica joana josue juliano leandro leonor luana luiz marcia mateus matheus
murilo otavio raimundo regina renato rogerio sandro simone tatiana thiago vinicius wagner washington
yara
adele adrien agathe aime alexandre alexis alice amelie anais andre anne annick apolline arnaud
aurelie aurelien axel baptiste bastien benoit brigitte bruno capucine cedric charles charlotte
clarisse claude clement clemence colette corinne damien delphine denis didier dominique edouard
elise eloise emile emilie emmanuel emmanuelle fabien fabrice florence florian francine francoise
frederic gaelle gaston genevieve georges gerard ghislaine gilles gisele helene henri herve hugues
jeanne jerome josephine josette laetitia lea leonie lionel loic louise lucie lucien madeleine
manon marc marcel marguerite margaux martine maxime melanie mireille monique morgane nadine
noemie odile oceane pauline perrine raphael regis remi renaud rene romain roxane sandrine
severine simone solange stephane sylvain theo thibault timothee valerie veronique vincent virginie
xavier yann yannick yves yvette
ada adriano agnese alberto alda alessia alfonso ambra angelo anna antonella arianna aurora
beatrice benedetta bianca carlo carla carolina cesare claudio corrado cristiano dario davide
debora domenico donatella edoardo elena emanuele enrico enzo ettore fabio fabrizio federico
filippo flavio franco gabriele gaetano giacomo giada gianluca gianni giorgia giorgio girolamo
giuliana giuliano graziella guido ilaria ivana jacopo leonardo letizia lidia loredana lucia
luciana luigi manuela marcello margherita maria mariangela marisa massimo maurizio michela
michele mirko nadia nicola nicoletta noemi orazio ornella pasquale patrizia piero pietro raffaele
renato riccardo rita roberta rocco rosario rossella sabrina salvatore samuele sara serena sergio
simone tiziana tommaso umberto valerio vincenzo vittoria vittorio
alexander anke annika armin axel barbara bastian benedikt bernd bettina britta carsten christa
christoph claus cornelia daniela detlef dirk doris elke erich erika ernst eva fabian florian
frieda friedrich frieder gabriele gerd gerhard gisela gottfried gregor gudrun gunther hannelore
harald hartmut heinrich heinz helga helmut hermann hildegard holger ilse ingo irmgard jens jorg
josef julia jutta karl karsten katharina kerstin konrad lothar ludwig manfred margarete marlies
marion markus martina matthias maximilian michael mirko moritz nico niklas norbert olaf ottilie
otto paul ralf rainer regina reinhard renate rita roland rolf rudiger rudolf silke sonja stefanie
steffen sven theresa thorsten till torsten ulrich ulrike ute volker walter waltraud wilhelm
wiebke wolfram
aart adriaan anneke annemiek arjen bas bert cor corne dirk eline els emma esther evert femke
floor frank frits geert gerrit gijs hanneke harm henk ilse ineke jaap jasper jeroen joost joris
kees klaas koen lieke lotte maarten marieke marijke martijn mees mirjam niels noor pim rik rob
roel ruud sander saskia sietse stijn teun tim tom wim wouter yvonne
aoife niamh saoirse ciara ciaran eoin padraig sinead orla aisling caoimhe grainne roisin cormac
diarmuid fionn ruairi tadhg eamon seamus dermot siobhan maeve clodagh deirdre sorcha darragh
cathal colm donal fergal lorcan oonagh una
aksel alva anja annika arne asa axel birgitta bo bodil britt camilla dag eira elin elsa emil
erland espen finn frida gunnar gustav hakan halvard hanne harald helga henrik hilde ida ingvar
jarl jonna jorgen kaj kari karl kasper kjell klara knut leif linnea liv maja malin mats mette
mikael morten nora oskar per ragnar rasmus rolf rune sigurd siri solveig stig sune svein terje
tor tora torbjorn tove trond ulf ulla vidar viggo vilhelm
adam aleksander aleksandra alicja andrzej aneta anna antoni barbara bartosz beata bogdan bozena
czeslaw dariusz dawid dominik dorota edyta elzbieta ewa filip grazyna grzegorz halina hanna
henryk irena iwona jacek jadwiga jan janina janusz jaroslaw jerzy joanna jolanta jozef julia
justyna kacper kamil kamila karolina kazimierz kinga klaudia krystyna lech leszek lucja lukasz
maciej maja marcin mariusz marta mateusz michal miroslaw monika natalia oliwia patryk pawel
przemyslaw radoslaw renata robert roman ryszard sebastian slawomir stanislaw stefan szymon
tadeusz teresa urszula wanda wieslaw wiktor wiktoria witold wladyslaw wojciech zbigniew zdzislaw
zofia zuzanna
adela alena ales bohumil bohuslav dagmar eliska frantisek hana helena ivana jana jaroslav jindrich
jitka josef karel katerina kristyna ladislav lenka libor lucie marketa martin milan miloslav
miroslav monika ondrej radek radka renata stanislav tomas vaclav veronika vit vladimir vojtech
zdenek zuzana branislav dusan jozef juraj lubomir lubos marek michal peter stefan
aleksandr aleksei alexandr alina alla anatoly anatoliy andrey anton arkady arseny artem bogdan
boris daniil darya denis dmitriy egor evgeny evgeniya fedor galina gennady georgy grigory igor
ilya inna irina kirill konstantin kseniya larisa lev lidiya lyudmila maksim margarita marina
matvey maxim mikhail nadezhda nikita nina oksana oleg oleksandr oleksiy olena pavlo petro polina
roman ruslan sofiya stanislav stepan taras tatyana timofey valentin valentina valeriy vasily
vasyl vera viktor viktoriya vitaly vladislav vyacheslav yaroslav yegor yelena yevgeny yulia
yuliya yuri yuriy zhanna zinaida volodymyr mykola mykhailo andriy serhiy yuliia kateryna
anastasiya dariya nataliya svitlana liudmyla halyna
achilleas alexandros anastasios andreas angeliki apostolos athanasios christos despina dimitra
dimitrios efstathios eirini evangelos georgia haris ioannis kalliopi katerina konstantina kostas
kyriakos maria nikos panagiotis paraskevi pavlos petros sofia spyros stavros stella theodoros
thanos vasileios vasiliki yannis zoi
ahmet alper arda ayhan aylin bahar baris berk berkay beyza busra can cansu cem cemal deniz
derya dilek ebru ece elif emel emine engin erdem erkan esra eylul fatih ferhat gizem gokhan
gul gulsen hakan halil hande hasan ilker ipek irem kaan kemal kerem koray leyla melek melis
meltem merve mert murat nazli nesrin nihat nur oguz okan onur orhan ozan ozge ozlem pinar
recep seda selin serkan sevgi sibel sinan tolga tugba tuncay ugur umut volkan yasemin yavuz
yusuf zafer zehra
abbas abdel abdelaziz abdelkader abdulaziz abdulrahman abdul adel adnan ahlam aicha akram amal
amina amjad amna anas anwar asma ayman aziz bashir basma bassam dalia dina ehab faisal farid
faris fawzi fouad ghada habib hadi hala hamza hana hani hanan haytham hiba hisham hoda houda
huda ibtisam ilham imad iman ismail issa jalal jamal jamila jihad kamal khadija khaled khalil
lamia lina loubna lubna mahmoud majid malak malik manal mansour marwan maryam mazen mohamad
mohammad mona mostafa mounir mourad muna munir nabil nada nadia nadir naim najib najla nasser
nawal nizar noura omar osama rabia rami rana randa rania rashid rasha reem riad rima samer sami
samia samir sara sawsan selim shadi sherif siham suad suleiman tamer wael walid wafa waleed
yasser yasmine yassin youssef zaid zakaria zeina ziad zuhair
afsaneh ali arash ardeshir armin arya azadeh babak bahram behnam behrouz bijan camran cyrus dariush
davood ehsan elham farhad farnaz farzaneh fereshteh golnaz hamed hassan hooman houshang javad
kaveh kamran kourosh laleh leyla mahnaz mahsa majid mani mansour maryam masoud mehdi mehran
mehrdad mina mitra mohsen morteza nader nasrin navid nazanin neda niloufar omid parisa parviz
payam pegah pouya rostam roya saeed sahar saman sanaz sepideh shabnam shahram shirin siamak
soheila soraya taraneh vahid yasaman zahra
aharon amit amos ariel asaf avi avigail avraham ayelet batya chaim dafna dalia dov efrat eitan
eli eliezer eyal gal gideon hadas ilan itai liat limor meir menachem michal miri moshe naama
nir noa ofer oren orly rivka ronit sarit shai shira shlomo shmuel tal tamar tzvi uri yael yair
yehuda yitzhak yoav yonatan yosef
aarti abhishek aditi aditya ajay akash akhil akshay alok aman amitabh amrita anand anita ankit
ankita anupam anuradha aparna archana arun aruna arvind asha ashish ashok bharat bhavna chandra
chetan deepa deepika devi dhruv dinesh gaurav geeta girish gita gopal govind harish harsh hemant
indira ishaan isha jaya jayant jyoti kamal karan karthik kiran kishore krishna kunal lalit
madhu mahesh manish manoj meena meera mohan mukesh nandini naresh naveen neelam nikhil nisha
nitin pankaj parvati pradeep prakash pranav prashant pratik preeti rajesh rajiv rakesh ramesh
rani ravindra rekha ritu rohit sachin sameer sandeep sangeeta sanjana santosh sarita saurabh
seema shalini shanti shekhar shilpa shiva shreya shweta siddharth smita sneha sonal sonia subhash
sudha sumit sunil supriya suraj sushil swati tanvi tarun uma usha varun vidya vinay vinod vishal
yash yogesh
anbu arul bala balaji chitra ganesh gayathri janani jayalakshmi kannan karthika kavitha kumaran
lakshmanan malathi manikandan meenakshi murugan muthu palani priyanka raja rajan ramya saravanan
selvi senthil shanthi sivakumar sundar sundaram thangam valli velu vijayalakshmi
abhijit amitava anirban arijit arnab debashis dipankar indranil joydeep kaushik mitali moumita
partha pritam rituparna sayantan soumya subhajit sudipta tanmoy tapas
amrit amandeep arjan balwinder baljit daljit gurdeep gurpreet harjit harpreet harvinder inderjit
jaspreet jasvinder kuldeep kulwant manpreet navdeep paramjit parminder rajinder ranjit simran
sukhwinder tejinder
asif faisal farhan fawad haris hina irfan javed kashif mahmood naveed nadeem rehan saima shabana
shahid shazia sohail tahir tariq uzma waqar yasir zubair zeeshan
ai bao bin bo chang chao chen cheng chun dan dong fei feng gang guang hai hong hua huan hui
jia jian jiang jie jin jing jun kai lan lei li lian liang lin ling long mei meng ming na ning
peng ping qian qiang qing rong rui shan sheng shu shuang tao ting wen wu xia xiang xiao xin
xiu xue ya yang yi ying yong yu yuan yue yun zhen zheng zhi zhong zhu
xiaoming xiaoyu xiaohong weiwei jianguo zhiwei yifan zihan haoran yuxuan zixuan yutong jiahao
ai akiko asuka ayaka ayumi chie chihiro daiki daisuke emi eri fumiko goro hana haruka hayato
hideki hideo hikaru hina hinata hiroki hiromi hiroto hitomi ichiro isamu jiro junko kaede kaito
kana kaori kaoru kazuki kazuo kei kenta kiyoshi koji kota kumiko madoka mai makoto mami mana
mao masaki masaru masato mayumi megumi michiko midori mika miki minoru misaki mitsuki miyu
momoko nanami naoki natsuki noboru noriko osamu rei ren riku rin rina ryo ryota ryuji saki
sayaka shin shinji shota sora sota sumiko tadashi takeshi takumi taro tatsuya tomoko tomoya
toshiro tsubasa yoko yoshiko yoshio yosuke yuka yukiko yuko yumi yusuke yuto yuna
bora chaeyoung dae daeho dohyun dongho eunji eunjung eunwoo haeun hajun hana hyejin hyemin
hyunwoo jaehyun jaewon jihoon jihye jimin jinho jiyeon jiyoung joon junho junseo kyung minho
minseo minsu seojin seoyeon seungho soyeon sujin sungmin taehyun yejin yeonwoo younghee yuna
bao binh chau chi cuong dung giang hai hanh hieu hoa hung huong huy khanh khoa lan long mai
my nam ngoc nhung phong phuong quang quynh son tam thao thi thu thuy tien trang trung tuan tung
van viet vy xuan yen
anong arthit boonsri chai chaiwat kanya kittisak malee nattapong niran pim prasert somchai somsak
sompong somsri sunee supachai thanom wichai
adi agus ahmad andi ayu bambang budi dewi dian eko fitri gede hendra indah joko kadek ketut komang
made nyoman putu rini siti slamet sri susanto teguh wahyu wayan yanti yudi
angelo arnel bong carlito danilo dindo edgardo emelita erlinda gemma jocelyn joel jomar jun
lorna marites marilou maricel marivic nenita rodel rogelio rowena teodoro
abena abiodun abimbola adaeze adebayo adebola adekunle adenike adeola adewale afia akosua akua
amaka amarachi ayodele ayodeji babajide bisi bukola chiamaka chibuike chidi chidinma chika
chikezie chinonso chinwe chukwuemeka ebuka efua ekene emeka enitan esi femi folake folasade funke
funmilayo ifeanyi ifeoma ikechukwu jumoke kayode kehinde kemi kojo kwabena kwaku kwesi kunle
lanre nkechi nnamdi obinna ola olamide olatunde olawale olayinka olu oluwadamilare oluwafemi
oluwatobi onyeka segun seun sola taiwo temitope titilayo tobi tolu uchenna uche yaw yemi yetunde
akinyi atieno auma awino chebet cherono jelagat jepchirchir kibet kiprono kipchoge mutua muthoni
njeri njoroge nyambura odhiambo ochieng omondi onyango wambui wanjiku waweru
abeba alemayehu almaz amanuel bekele berhane dawit desta fikre genet getachew girma haile hirut
kebede lemlem meseret mulugeta negash selam senait seble tadesse tekle tesfaye tigist worku yonas
zewdu
ayanda bongani busisiwe lerato lindiwe lwazi mandla mpho nandi nokuthula palesa sibusiso sizwe
tendai thandiwe thulani zanele zodwa tatenda tafadzwa chipo farai rudo
adorjan agoston aladar alajos almos andras antal arpad balazs bela bence benedek botond csaba
daniel denes dezso domonkos elek emil erno erzsebet gergely geza gyorgy gyula huba ildiko imre
jeno jozsef kalman karoly kristof lajos laszlo levente lorand marton miklos mihaly nandor norbert
orsolya otto peter richard robert sebestyen szilard tibor vilmos viktor zsigmond aniko beata
boglarka borbala csilla edit emese eniko erika eva flora gabriella gyongyi hajnalka henrietta
ilona iren judit julianna kinga klara krisztina lilla livia marianna melinda nora noemi orsolya
piroska rozalia timea vera viktoria zita zsuzsanna
adrian alexandru andrei aurel bogdan catalin ciprian claudiu constantin corneliu costel cristian
dan danut dorin dragos emil eugen florin gabriel george gheorghe horia ion ionel ionut iulian
laurentiu liviu lucian marian marius mihai mircea nicolae octavian ovidiu petru radu razvan
sorin stefan teodor toma traian valentin vasile victor viorel adina alina anca andreea bianca
camelia carmen catalina cristina daniela delia diana doina elena florentina gabriela georgiana
ileana ioana irina iulia larisa lavinia loredana luminita madalina mihaela mirela monica oana
otilia raluca ramona roxana simona smaranda sorina teodora valentina violeta
aleksandar bojan borislav boris branko dalibor darko dejan dragan drago dusan goran hristo igor
ivo jovan kiril kosta lazar ljubomir marko milan milos miroslav mladen nebojsa nikola ognjen
petar predrag radovan ratko sasa slobodan srdjan stanko stefan stojan svetozar tihomir todor
vladan vlado zeljko zoran zlatko ana biljana bojana borislava daniela desislava dragana elena
gordana ivana jasmina jelena katarina ljiljana marija maja milena mirjana natasa nevena radmila
sanja snezana svetlana tanja tatjana vesna violeta zorica zdravka
aivars andris arturs edgars gatis janis juris karlis maris raimonds uldis valdis aigars agris
ilze inese inga iveta kristine laura liga santa sandra zane dace baiba
algirdas antanas arunas darius dovydas gediminas giedrius jonas kestutis linas mantas mindaugas
rimantas saulius tomas vytautas zydrunas agne asta audrone egle giedre ieva jurgita kristina
laima lina ramune ruta vaida vilma
aivar andres indrek jaan juhan kalev lauri madis mart meelis peeter priit rein siim tiit toomas
urmas anneli helen kadri kai kaja katrin kristiina liina maarja merike piret reet riina triin
aleksi antti eero eino esa hannu heikki ilari jarmo jouni juha juho jukka jussi kalle kari
lasse markku matti mika mikko olli pekka petri risto sami seppo tapio teemu timo tuomas ville
aino anu eija elina hanna heli helmi johanna kaisa katja laura leena liisa maarit minna noora
paivi pirjo riikka sari satu suvi taina tarja tiina tuula ulla
aron birgir bjarni einar eirikur gisli gudmundur gunnar halldor hallgrimur helgi jon kristjan
magnus olafur pall ragnar sigurdur stefan thor thorsteinn agusta anna asdis bryndis elin
gudrun helga hildur ingibjorg katrin kristin margret ragnheidur sigridur solveig thora
akaki avtandil beka davit giorgi gocha irakli kakha lasha levan luka mamuka nika nikoloz otar
revaz shota tamaz temur vakhtang zurab ana eka ketevan khatia lela maia mariam nana nino salome
sophio tamar tamuna
aram armen arsen artur ashot avetik davit gagik gevorg grigor hayk hovhannes karen levon mher
narek samvel sargis suren tigran vahe vardan anahit anush araksya armine astghik gayane hasmik
karine lilit lusine marine mariam narine nune siranush sona tatevik
anar elvin elnur emin farid ilkin kamran murad orkhan rashad ruslan samir tural vugar aysel
aynur gunel leyla nigar sabina sevinj ulviyya
aidar almas arman askar azamat bauyrzhan daulet dauren erlan galym kairat marat nurlan nursultan
serik talgat timur yerlan zhandos aigerim aizhan akmaral asel dana gulnara madina saule
abduvali akmal alisher aziz bekzod bobur dilshod jahongir jasur otabek rustam sardor shavkat
sherzod ulugbek dilnoza gulnora malika nargiza nilufar shahnoza zarina
abe abel abram adalyn adalynn addie addison adelaide adeline adolph aiden aimee al alaia alaina
alden alfreda alisa alisha alissa allan allen allie alonzo alphonse alta althea alton alyce
amado ambrose amie anderson angelia angelique angelita anibal aniyah annmarie ansel archibald
aria armand arnulfo asher ashlee athena atlas aubree audra august augusta augustine augustus
aurelia autumn avis ayla bailey barney barrett bart barton beau belle benita bennett bennie
benny bentley bernadine bernardo berta bertram bessie bette bettie beulah billie blaine blakely
blanche bobbi bobbie bonita boyd brandi brandie brandt brandy brant brayden brendan brendon
briana brianna bridgett brielle brittney brock broderick brody bryant brynlee bryon bryson buck
bud buddy burl burt burton byron callie candice candy carey carissa carlene carly carmela
carmella carmelo carmine carole carroll carson carter cary casandra cassie cathleen cathryn
cecelia cecile cedrick celia celina chadwick chance charity charley charmaine chase chasity
cheri cherie chet christi chrystal chuck clair clare clark claudine clay clementine cleo cletus
cleveland cliff clyde colby cole coleman collin colton columbus concetta connie conrad corina
corine cornell corrine cortez cory coy cristopher crystal curt cyril daisy damion dane danial
dante darin darrel darrell darrin darwin dashawn davey davis dawn dean deana deandre deangelo
deann deanne dee deena deidre del delbert delilah dell delmar deloris demarcus demetrius dena
denny denver deon derick deshaun deshawn desiree destiny devonte dewayne dewey dianna dianne
dick dino dion dixie dominick dona donnell donnie donny dorthy doyle drew dudley dusty dwayne
earle earlene earline earnest earnestine easton ebony ed eddy edmond edwin edwina effie efrain
elba eliana elias elisabeth eliseo elma elmer elmo elnora eloy elton elva elvia elvira elwood
emanuel ember emerson emersyn emery emory erasmo erick erma erna ernestine errol ervin erwin
esmeralda essie estela estella estelle ester etta eula eunice eusebio evangelina eve everleigh
everly ezekiel faith fannie fanny faustino faye felecia felicia fern finley fletcher florine
flossie forrest foster francis frankie fred freddy fredrick gale galen garland garry garth gayle
gena genesis georgette geraldine gilda glenna goldie grady grant grayson gregg gregorio greyson
griffin grover gus guy hadley hal hallie harlan harriett harris hattie heriberto hershel hilary
hiram hobert hollie hollis hope houston hudson humberto hunter ike ilene imani imelda imogene
ina inez iris irvin irwin isaias ismael israel issac iva jace jaclyn jacquelyn jalen jamaal
jamar jamel jameson jamey jami jamison janell janelle janette janie janine janna jarrett jarrod
jarvis javon jaxon jaylah jaylen jayne jayson jazmin jeanie jeanine jeannette jeannie jed
jefferey jefferson jenifer jennie jerald jeramy jeremiah jeri jermaine jerri jerrod jessie jewel
jill jimmie jimmy joanne jodie jody johnathan johnathon johnnie jonathon jordyn josiah juana
juanita jude julianne juliette junior kaden kaitlin kareem karina karla karyn kathie kathrine
katina kayden keisha kelley kelli kellie kelvin ken kendall kendrick kennedy kent kenya keri
kermit kerri keshawn khloe kiara kim kimberley kingston kinsley kirby kitty knox kris krista
kristi kristie kristopher krystal kurtis lacy ladonna lakeisha lamar lamont landon lane lara
latasha latisha latonya latoya laurie laverne lavonne lawanda leann leanna leilani leland lenora
lenore leola leona les lesa lesley leta letitia levi lila lilia lilian liliana lillie lino liz
liza lizzie lola lolita lon london londyn lonnie lora loraine loren lorene loretta lorie lottie
lou louella louisa loyd luann lucile lucille lucinda lucius luella luisa lula luna lupe luz
lyman lynda lynette lynnette mack madelyn madge mae makayla malinda mallory mamie mara marcelino
marcella marci marcie marcy margery margo maricela marietta marissa maritza marla marlin marlon
marquis marquita marsha marty marva maryann marylou mathew matilda mattie maude maura maverick
maya maynard meagan melba melisa merle merlin merrill micah micheal mickey mila miles milford
millard millicent milo mindy minerva minnie misty mitchel mitzi monroe monte monty morris moses
murray myles myrna myron nanette nannie nathanael nettie nevaeh nichole nickolas nicky nikki
nita noelle nola nolan nona noreen norris octavia odessa ofelia ollie opal ophelia ora orlando
orval orville otis palmer pansy parker pat patrice patti paulette penny pete phillip porter
prince quincy rae raelynn raleigh randal randell randolph rasheed ray reba reed reese reid
remington rena renee reuben rex reynaldo rhett rhoda rich richie rick rickey robby robyn
rochelle rocky rod roderick rodger rodolfo romeo ron ronan rory rosalie rosalyn rosanne rose
roseann rosella rosemarie rosetta rosie roslyn roxie royal royce rudy russel rusty ryder ryker
ryleigh sallie sammie sandy sanford santos sasha sawyer scot scottie scotty selma serenity
seymour shana shaniqua shanna shari sharlene shauna shawna sheena sheldon shelia shelly shelton
sheri sherman sherri sherrie sherry sienna silas simon skylar sloane sol solomon sonny sonya
stacie stan sterling stewart summer suzette sybil sylvester tabatha tad tameka tamera tami
tamika tammi tammie tamra tania tanisha tanner tasha teagan teri terrance terrell terri tess
thaddeus therese thurman tia tiana timmy tisha titus tommie tonia traci tracie tremaine trevon
trey tricia trina trinity trisha truman tucker twila tyree tyrell tyrone tyson ulysses valarie
valentine vance velma verna vicky vince virgil waldo walker walton ward weldon wendell wendi
weston wilbert wilburn wiley will willard willis willow wilmer wilson winnie xander yesenia
zachariah zachery zelma zion zoey
abbey abbie abbigail abdiel abigale adaline adan adelina adelle adonis adria adrianna adriel
agustina ahmir ainsley aja alani alayna aldo aleah aleena alejandrina alexandrea alexia
alexzander alia alijah alisson aliya aliyah allyson alondra alysa alysha alyson amani amari
amaya ameer amira amiya anahi anakin anaya andrina angeline angus anika aniya annalise annamarie
anneliese ansley anthoney anya arabella areli ari ariadne ariah arian ariane arielle arlette
arlo armani arnav aryan ashanti ashlyn ashlynn aubrie audrina augustin avah averie avianna axton
ayaan ayanna azaria azariah bailee baylee baylor beckett belen benson bethanie betsey bettye
billye bladen blair blythe boden bodhi braden bradyn braeden branson braxton breana breanna
breanne brecken bree brennan brenton bria brianne briar bridgette briley brisa brittani
brittanie brodie bronwyn brycen brylee brynn bryton cade caiden caitlyn calista callan callen
camden camron camryn canaan caren carina carlee carley carli carlie carolann carsen caryn casen
cason cassius catarina cate cathrine cayden cayla ceceli celestine chana chanel charisse charla
charlee charlize chaya cheyanne cheyenne chiquita christal christiana cielo cindi colt colten
colter corbin corinna cristal crystle cullen dacia daija daisha dakota damari damarion damaris
danae dangelo danika danna darcy daria darian darien darion davian davin davina davion daxton
dayana dayton deacon deja delaney delfina demarion demetria denisse denzel dessie destinee devan
devyn dionne domenica donte dorinda draven dulce dyani edie edison elaina elana eleanora elian
elisha elle elly eloisa elora elyse emelia emely emerie emilee emiliano emmalee emmie emmy
ephraim estefania estrella ethen evander evie eyla ezequiel fallon farrah finnegan gael gage
galilea genaro genoveva giana gianna giovanna giselle gissel gunner gwyneth hadassah hailee
hailie haleigh halle harlow hayley henley hezekiah holden huxley iker iliana iona isabela isela
isis itzel ivette ivonne izaiah jabari jacquelin jada jadiel jaelyn jaida jaiden jailyn jaimie
jair jairo jakayla jakob jaliyah jamari jamarion jamir jamiya janae janay janiah janiya jaquan
jaqueline jareth jase jasmin jaxen jaxson jaxton jayce jayda jayla jaylene jaylon jaylynn jaziel
jazlyn jazmine jeanna jemima jenelle jennah jensen jessenia jett joelle johana jolie jordana
joslyn jovani jovanny judah julieta kacey kade kaeden kaelyn kaia kaiden kailee kailey kailyn
kaitlynn kale kaleigh kali kamari kamden kameron kamryn karlee karli karlie karsyn kasen
kassandra kassidy katlyn kaya kaycee kayleigh kaylie kaylin kayson keagan keaton keegan keely
kehlani kellan kelsie kenia kenna kennedi kenzie keon keyla kiana kiera kierra killian kimora
kingsley kinley kira kirra kobe kolby kolton konner kora korbin kristal kristian kyla kylan
kylee kyleigh kyler kymani kyra lacie laila lainey landen landry laney lawson layne layton leia
leighton leilah lennon leonel leonidas lesly lexi lexie lia liana libby lilah lilianna lilliana
lisandro lisbeth litzy lizbeth lizeth lochlan lorelai lucienne lyanna lyla macey maci macie
madalyn madden maddison maddox madelynn madilyn madisyn madyson maiya makai makenna makenzie
malachi malakai malaya malia maliyah mareli margot mariah mariela marilu marisela marlee marley
marlie mathias matias maximus mayra mckenna mckenzie mekhi melina micaela mikaela mikayla mireya
miya moira monserrat musa mya myah naima nalani nasir natalee nataly nathanial nayeli nehemiah
nelly neymar nia nicolette nidia norah nyla nylah oakley oaklyn omari oriana paisley paityn
paola paulina paxton payton peyton presley priscila quinton rachelle raegan raelyn raiden raina
rayan rayna rebeca reece regan reyna rhea rhiannon rhys romina ronin rowen rubi ryann rylan
rylie sade saige salma samara samira saniya saniyah santino sarahi sarai sariah savanna selah
selene shakira shania shaniya shayla shaylee shea shiloh siena sierra sincere skyla soren
stephany stetson sullivan sydnee talia taliyah tamia taryn tatum tegan thalia thea tiara tierra
tinley trenton tripp tristen tyrese uriel valentino veda vihaan viviana waylon wesson westin
wilder xiomara yadiel yadira yahir yamileth yareli yuliana zaiden zander zaniyah zara zaria
zariah zavier zayden zaylee zayn zendaya zoie zuri
";

/// More family names (whitespace-separated, split once at start-up).
pub(crate) const MORE_SURNAMES: &str = "
abbott acosta adkins aguirre albert allison ambrose andersen archer atkins atkinson austin avila
ayala baldwin ball ballard banks barber barker barlow barnett barr barrett barton bass bates
beck becker bender benson bentley berg berger bishop blackburn blackwell blair blake bolton bond
booth bowen bowers bowman boyle bradford brady brennan brewer bridges briggs brock bryan buchanan
buck burgess burke burnett burton bush byrd cain caldwell calhoun callahan cameron cannon carlson
carney carr carson carter case cash chambers chandler chapman charles christensen christian
church clarke clayton clements cobb cochran coffey cohen collier colon combs compton conner
conrad conway cooke copeland cortez craig crane crosby cross cummings curry curtis dalton
daniel davenport davidson dawson day dean decker dennis dickerson dickson dillon dodson donovan
dorsey dougherty douglas downs doyle drake dudley duffy duke dyer eaton elliot emerson english
erickson estes evans farmer farrell faulkner fitzgerald fitzpatrick fleming fletcher flowers
floyd flynn foley forbes fowler francis franklin frazier frederick fry fuller gallagher galloway
gamble garner garrett gates gentry gilbert gill gillespie glass glover goodman goodwin gould
graves greene greer griffith gross guerra hahn hale haley hammond hancock hanson hardin hardy
harmon harper harrell hatfield hawkins haynes hays heath hendricks hensley herman hess higgins
hines hinton hobbs hodge hodges hogan holland holloway holt hood hooper hopkins horn horne horton
houston howe howell hubbard huff hull humphrey hurst hutchinson ingram irwin jacobson jarvis
jefferson jennings jensen johns joseph joyce kane kaufman keith keller kemp kent kerr key kirby
kirk klein knapp knowles koch kramer lamb lambert lancaster landry lang larson lawson leach
leblanc lindsey little livingston lloyd logan love lowe lucas lynch mack macdonald mackenzie
macleod madden maddox maldonado malone mann manning marks marsh massey mathews maxwell may
mayer maynard mccall mccann mcclain mccormick mccoy mcdaniel mcgee mcgrath mcguire mcintosh
mckay mckee mckenzie mckinney mclaughlin mclean mcmahon mcneil mcpherson meadows melton mercer
merritt meyers middleton miles miranda molina monroe montgomery moody moon mooney moran morrison
morrow morse morton moss mullins munro murphy nash neal newman newton nicholson noble nolan
norman norris norton oneal oneill osborne owen pace padilla page parks parrish parsons patrick
patton paul pearce pearson peck pennington perkins petersen phelps pittman pollard poole pope
potter pratt preston prince pruitt pugh quinn ramsey randall randolph rasmussen reese reeves
reid rhodes richmond riggs roach robbins robles rocha rollins roth rowe rowland russo salinas
sampson sanford saunders savage sawyer schultz schwartz sexton shannon sharp shelton shepherd
sheppard sherman short simon sims sinclair skinner slater sloan small sparks stafford stanley
stark steele stein stephenson stokes stout strickland summers sutton swanson sweeney talley
tate terry thornton todd townsend travis tyler underwood vaughn vincent wade walls walton ware
waters watkins watts weeks welch wheeler whitaker whitfield whitney wiggins wilcox wilder
wilkerson wilkins wilkinson williamson winters wise wolfe woodard woodward wyatt yates york
abreu acevedo aguilera alonso amador aranda arias arroyo avalos barrera barrientos bautista
benitez bermudez bravo calderon camacho cano carmona casas castaneda cervantes cisneros
cordero cordova corona cortes cuevas duarte escobar espinoza esquivel estrada fajardo figueroa
franco galindo gallardo gallegos galvan garrido gil guerrero guevara hidalgo ibarra jaramillo
juarez lara leal linares lozano lucero luna macias marin marquez mejia meza miranda montes
montoya mora murillo nava olivares ochoa orozco ortega osorio pacheco padron palacios paredes
pineda ponce quintero quiroga rangel rios rivas robledo rojas rosales rosas saavedra salas
salgado sepulveda sierra solis sosa tapia tellez toledo trevino trujillo urbina valdez valencia
valenzuela vallejo velasco velazquez vera villa villanueva villarreal zamora zapata zuniga
echeverria etxeberria goikoetxea aguirre urrutia mendizabal puig ferrer soler roca vila pujol
batista bezerra borges brandao cavalcanti coelho cunha damasceno farias freitas lopes machado
magalhaes marques medeiros mendes monteiro moreira nascimento neves nogueira pinto queiroz ramos
rezende rocha sampaio siqueira soares tavares vieira xavier azevedo
allard arnaud aubert barbier baron benard berger blanc blanchard boucher bourgeois boyer brun
carpentier caron chevalier clement colin deschamps dufour dumas dumont duval fabre faure fleury
fontaine garnier gautier gauthier gerard giraud guerin guillaume henry hubert jacob joly julien
lacroix lebrun leclerc lefevre legrand lemaire lemoine leroux lucas marchand marie martinez
masson mathieu mercier meyer noel perrin petit picard poirier renard renaud riviere robin roche
rolland roussel roy royer schmitt vidal thomas vasseur
amato barbieri barone basile battaglia bellini benedetti bernardi bianco caputo carbone caruso
cattaneo cirillo coppola cristiani damico danna desantis desantis donati farina fabbri ferraro
fiore fontana galli gatti gentile giuliani grasso guerra leone lombardo longo mancuso mariani
martinelli marchetti mazza messina monti morelli negri orlando palumbo parisi pellegrini
piras ricciardi rinaldi riva rossetti ruggiero russo sala sanna santoro sartori serra silvestri
testa valentini villa vitale
albrecht arnold bach bauer baumann beck berger bergmann brandt busch dietrich ebert engel
fink franke frey friedrich fuchs graf gunther haas hahn hartung heinrich herrmann hoffmann
horn huber jager jung kaiser keller kessler kraus kuhn kuhne lang lorenz ludwig maier mayer
meier moller marx nagel otto peters pfeiffer pohl roth sauer schade scholz schubert schulte
schulze schumacher schuster schwab seidel simon sommer stark stein steiner thiel vogel vogt
voigt walter weber weiss winkler winter wolff ziegler zimmer
boer brouwer dekker dijkstra hendriks hoekstra jacobs kok koster kuipers maas peters postma
prins schouten timmermans verbeek vermeulen verhoeven wouters dewit deboer vandijk vanleeuwen
vanderberg vanderlinden
aalto berglund bergstrom dahl danielsen engstrom haugen holm isaksen jakobsen jonsson
kristiansen lund lindberg lindgren lindqvist lundberg magnusson mattsson nordin nyberg sandberg
solberg strand sundberg wallin halvorsen berntsen eide moen johannessen laine heikkinen koskinen
lehtonen salminen
adamczyk baran borkowski chmielewski czarnecki dabrowski duda gorski grabowski jablonski
jankowski jasinski kaczmarek kalinowski kolodziej kozlowski krajewski krawczyk krol kubiak
kucharski lis majewski malinowski marciniak mazur michalski nowakowski olszewski ostrowski
pawlak pietrzak piotrowski rutkowski sadowski sikora sobczak stepien szczepanski tomaszewski
walczak wieczorek wilk wojciechowski wozniak wrobel zajac zawadzki
benes blaha cermak dolezal fiala holub horak jelinek kolar kopecky kratochvil krejci kucera
marek nemec pokorny pospisil prochazka ruzicka sedlacek simek soukup stastny urban vesely
vlcek zeman
abramov afanasyev aksenov andreev antonov baranov belov bogdanov borisov bykov danilov
davydov dmitriev efimov ershov filippov frolov gavrilov gerasimov golubev gusev ilyin isaev
kalinin karpov kiselev komarov kovalev kovalenko kozlova krylov kudryavtsev kulikov lazarev
makarov maksimov medvedev melnikov mironov nikitin nikolaev orlov osipov polyakov romanov
rybakov saveliev sergeev sidorov smirnova solovyov sorokin stepanov tarasov tikhonov titov
vinogradov vlasov voronin yakovlev zaitsev zakharov zhukov ivanova petrova popova shevchenko
bondarenko tkachenko kravchenko koval boyko kovalchuk oliynyk lysenko marchenko rudenko
savchenko moroz melnyk pavlenko
alexiou anagnostou antoniou athanasiou christodoulou dimitriou economou galanis ioannou
karagiannis konstantinou kostopoulos makris nikolaou oikonomou pappas papadakis papageorgiou
papanikolaou petridis stavrou vlachos
acar akbulut akin aksoy aktas altun aslan avci bozkurt cakir cetin coskun duman erdogan eren
gunes guler gunay isik kara karaca kilic kocak korkmaz kurt ozcan ozkan polat sen simsek
tekin tas turan uysal yalcin yavuz yucel
abbas abdallah abdelrahman abed amin antar aziz bakr barakat darwish
eid fahmy farouk fawzy ghanem habib hamdan hamdi hijazi hussein ibrahim ismail jaber khalaf
khalil mahmoud matar mostafa moussa mustafa nasr nour omar qasim rashid saad sabry said salem
salim shaheen sharif suleiman taha yassin youssef zaki
ahmadi akbari alavi amini ansari azizi bagheri ebrahimi esfahani farahani ghorbani hashemi
hosseini jafari jahani kamali karimi kazemi khalili mahdavi mirzaei moradi mousavi najafi
nazari rahimi rezaei sadeghi safavi salehi shirazi tabrizi tehrani yazdi zamani
abramson adler alon amsalem avraham azoulay biton dahan friedmann gabay goldstein
greenberg halevi hirsch kaplan klein levin levy mor ohana peretz rosen segal shapiro shalom
stern weiss
agarwal ahuja arora bajaj banerjee basu bhatia bhatt chakraborty chatterjee chaudhary chauhan
dasgupta dubey dutta ghosh goel grover iyengar jain kaur khanna kohli krishnan kulkarni
mishra mukherjee naidu pandey pillai prasad rajan rathore saxena sen sengupta shetty sinha
srinivasan subramanian tiwari trivedi upadhyay varma yadav venkatesh raghavan ramachandran
ramanathan natarajan chandrasekhar gill grewal sandhu sidhu dhillon brar bains
chowdhury hossain islam karim miah rashid uddin akhtar anwar aslam baig bhatti butt chaudhry
farooq hashmi iqbal javed malik mirza nawaz raza riaz saeed shafiq zaidi
bai cai chang cheng cui dai ding du fan fu gong gu hao hou jia jiang jin kong lai lei liao
lu lv meng mo pan peng qian qin qiu ren shao shen shi song su tao tian wan wei wen xia xiang
xiao xiong xue yan yao ye yin yu yuan zeng zhan zou
abe aoki endo fujii fujita fujiwara fukuda goto hara hasegawa hashimoto hayashi hirano ikeda
ishii ishikawa iwasaki kikuchi kondo kudo maeda masuda matsuda miura mori morita murakami
murata nagai nakagawa nakajima nakano nishimura noguchi ogawa okada okamoto ono ota saito
sakai sakamoto shimizu sugiyama suzuki takada takagi takeda takeuchi tamura taniguchi ueda
uchida wada yamazaki yamashita yokoyama
ahn bae baek byun chae cha chun chung ha heo hong hwang jeon jeong ji ju kwon kwak lee moon
na nam noh oh paik ryu seo seong son song yang yoo yu
bach cao chau dinh doan duong giang ha ho huynh khuc khong lam luong luu ly mac mai ngo
nghiem ong ta thai than tieu to trinh truong vo vuong
boonmee chaiyaporn charoen jaidee kaewkla phrom saetang sombat srisuk suksawat thongchai
wongsawat
gunawan halim hartono hidayat kurniawan lim nugroho pratama purnomo santoso saputra setiawan
sihombing simanjuntak susilo tanoto wibowo wijaya
aquino bautista castillo garcia gonzales manalo mendoza navarro ocampo
pascual reyes salvador santiago villanueva
adebayo adeleke adewale adeyemi afolabi ajayi akande akinola akpan alabi aliyu amadi anyanwu
babatunde balogun bello chukwu danjuma eze ezeh ibekwe ihejirika lawal nwachukwu nwankwo
nwosu obi odunsi ogunleye ojo okeke okoro okoye olaniyan olawale oyelaran salami uche umeh
addo agyei amoah ampofo annan appiah asante boakye darko donkor frimpong gyamfi kuffour mensa
nkrumah obeng ofori oppong osei quaye sarpong tetteh yeboah
chebet cheruiyot gitau kariuki kibet kimani kiprop koech korir langat maina muriuki mutai
njoroge nyaga odhiambo ogola ochieng omondi onyango otieno ruto wafula wanjala
abate alemu assefa ayele bekele demissie gebre gebremedhin girma haile kassa mekonnen
mengistu negussie tadesse tesfaye wolde woldemariam yohannes
banda chikwanha dube hlongwane khumalo mahlangu mathebula moyo mthembu ngubane ngcobo nkomo
phiri radebe sibanda zulu
antal balazs barta bognar boros csaszar csizmadia deak fazekas fekete fodor gal gulyas hegedus
hajdu halasz illes jakab kadar katona kelemen kiraly kocsis kovacs lakatos laszlo lengyel
lukacs magyar meszaros mohacsi nemes olah orban pal pinter racz sandor simon soos szalai szekeres
szilagyi szucs tamas torok vincze vass zsiga
andrei anghel badea barbu bratu constantin dobre dragomir dumitru dumitrescu florea gheorghe
gheorghiu ilie ionita lazar manea marin mihai mihailescu moldovan munteanu nistor oprea
paraschiv pop popa preda radu rusu sandu serban stan stanciu stoica tanase toma tudor ursu vasile
vlad zamfir
angelov atanasov dimitrov georgiev hristov iliev kolev kostov marinov nikolov petkov stoyanov
todorov yordanov zhelev babic bozic grgic juric knezevic kovac maric matic novakovic pavlovic
peric radic saric stojanovic tomic vukovic zivkovic ilic kostic lazic milosevic mitrovic
nikolovski petrovski stojanovski
berzins kalnins ozols liepins krumins balodis zarins jansons vitols abolins kazlauskas jankauskas
petrauskas stankevicius vasiliauskas zukauskas butkus paulauskas urbonas kavaliauskas tamm saar
sepp magi kask kukk rebane ilves parn koppel
beridze gelashvili kapanadze lomidze maisuradze mamedov aliyev huseynov hasanov ismayilov
guliyev abdullayev karimov rahimov yusupov tursunov nazarov sultanov akhmetov nurlanov
iskakov zhakupov suleimenov omarov
hakobyan harutyunyan grigoryan sargsyan petrosyan khachatryan karapetyan vardanyan gevorgyan
avetisyan mkrtchyan hovhannisyan
jonsson sigurdsson gudmundsson olafsson magnusson kristjansson stefansson einarsson
virtanen nieminen makela hamalainen laine heikkinen koskinen jarvinen lehtonen saarinen
salonen turunen salo kinnunen rantanen karjalainen hiltunen
abbasi alam anjum ashraf awan azam bashir chaudhri dar ghani habib haider hameed haq haque
hasan jamil kazmi khalid latif lodhi memon mian naqvi niazi qadir rana rizvi sadiq sattar
shaikh sharif siddiqi sultan tahir usman yousaf zafar zaman
adeyemo adebisi adegoke adeniyi adesina adetola afolayan agbaje akintola alade awolowo ayodele
bankole fashola folarin ige ilori komolafe ladipo odukoya ogunbiyi ogundipe okafor okonjo
oladipo olatunji oyebanji oyewole sowande
alfaro andrade anthony arellano ashley avery ayers barajas barron barry bartlett baxter bean
beard beasley beltran benjamin benton bernal bernard best blankenship blevins bonilla booker
boone bradshaw branch browning bruce buckley bullock burch burks cantrell cantu cardenas carey
carrillo casey cassidy chase cherry clay cline conley connolly correa crowley cullen daugherty
davila dejesus delacruz delaney delarosa deleon dempsey devlin doherty donaldson doran dunlap
dunne duran durham egan ellison enriquez esparza espinosa everett fahey farley felix fields
finley finnegan flanagan frank french frost frye gaines garrison george geraghty gibbs giles
gilmore glenn golden good gregory grimes hagan hampton hanna harding harrington hartley hartman
harvey hayden hebert hendrix hennessy henson herring hester hickman hoover house huerta huffman
hurley hutchins hyde keane kearney keegan kilpatrick kinney kline knox krueger lenihan leonard
lester lonergan lott lowery lowry lugo lynn lyon lyons magana mahoney mata mathis mayo mays
mcbride mccarty mcclure mcconnell mccray mccullough mcdonough mcdowell mcfarland mcginnis
mcintyre mcknight mcmillan medrano melendez mercado michael moriarty moses mosley moyer mulcahy
mullen mulligan nixon oconnell odom odonnell oliver olsen orr parra pate peralta person pitts
portillo potts powers proctor quigley quintana raymond regan reilly reyna rich richard rivers
roberson rodgers roman rooney rosario rush santana scanlon schaefer schroeder sellers shaffer
shaughnessy sheehan shepard shields singleton snow solomon spears spence stanton stevenson
strong stuart tanner terrell tierney trejo valentine vance vang vaughan velasquez velez ventura
villalobos villegas wall waller walters warner webster whelan whitehead wiley wilkes yoder
zavala zimmerman
abernathy ackerman adair addison agnew ainsworth akers albright alcott aldridge alford alston
ames amos ancheta appleby arevalo arledge armijo armour arrington ashby ashcraft ashford
atherton atwood ault avant babcock bader baer bagley bain bales ballentine bancroft banning
barbee barclay barela barfield barksdale barnard barnhart barnhill barrios bartholomew bartley
basham bateman batson beal beals beaty beauchamp beaver beckett beckman bedford beebe belcher
bellamy belt benavides bennet betts bevins bigelow biggs billings bingham bivens blackmon
blackstone blackwood blaine blalock bledsoe blount boatwright bogan boggs bolden bolin bonner
borden bost boswell bourne bowden bowles bowling boyce braddock bragg bramlett branham brannon
bratton bray brayton breaux brenner brewster brinkley brito britt britton broadus brockman
bronson brooker browder brower browne broyles brumfield bryson buckner buford burden burdick
burger burk burkett burleson burnham burrell burris burroughs busby bussey butts byers bynum
cade cagle cahill calloway cannady capps carden carlisle carmichael carranza carrington
cartwright carver cassell castellano castor cates causey cavanaugh chacon chaffin chamberlain
chaney chapa chappell chatman cheney chester childers childress chism clapp clawson cleary
clemons cleveland clifton coates cobbs cockrell coe coker colbert coles collazo colvin comer
conklin conn connell connor conover conroy coon coonrod corbett corbin cornett corral costello
cothran coulter covington cowan cowart coyle crabtree craddock crain cramer crandall crawley
creech crenshaw crews crist crocker cromwell crouch crowder crowe crowell crum cuellar culver
cupp curran currie cushing cutler dailey dalrymple daly dameron dancy darby darden darling
davies dawkins dearing deaton dees dehart dement denham denney denson denton derr devine devore
dewitt dickens dickey dickinson dill dillard dinkins dix dobbins dobson dodd dodge donahue
donnelly dooley dorman dotson doty doughty dow dowd dowdy dowell downey downing dozier draper
driggers driscoll drummond duff dugan dunbar dunham dupree dupuis durant durbin durden dutton
dye dykes eads earley easley eason eastman eckert edmonds edmondson ehrlich elam elder eldridge
elkins ellington ellsworth elmore emmons engle ennis epps erwin eubanks evers ewing fagan
fairchild falk fallon fannin farr farris faulk faust feldman felton fenton ferrell ferris finch
finney fisk fitch fitts flagg flanders flournoy fogle forman forsyth fortier foss foust franks
frasier frazer freed freeland fritz fugate fulcher fulton gaddis gagnon gamez gann gant garland
garvey gaskins gass gastelum gatlin gaylord geiger gerber gholston gibbons gifford gilchrist
gilliam gillis gilman gipson givens gladden gleason glidden goad godfrey godwin goebel goff
goins goldman gooch goode goodrich goodson gore gorman gosnell gough grainger grammer granger
gravely greenwood gregg grier griffiths grigsby grinstead grissom groves grubb grubbs guidry
gunn gunter gurley guthrie haag hackett hadley hagen hager haggard haines hairston halcomb
halsey hamby hamlin hammons hamner handley haney hankins hanley hannon hansford harbin hardaway
harden hardesty hardwick hargrove harkins harlan harman harms harp harrelson harrod hartsell
harwell haskell haskins hastings hathaway hatton hawley haywood healy hearn heaton hedrick
heller helm helms hembree hemphill hendrickson hendry henley hennessey henning herd herndon
herrington hewitt hiatt hickey higdon highsmith hildebrand hillman hilton hinds hinkle hinojosa
hinson hitchcock hite hobson hogue holbrook holcomb holder holley holliday hollis holman holst
honeycutt hopper horan horner hosey houck hough hoyt huckaby hudgins humphries hurd hutcherson
hutson hyatt ingle irby isaacs isom ivey ivory jacks jacobsen jaeger janes jarrell jeffries
jernigan jeter jett jewell jobe joiner jolly joyner judd karr kearns keaton keel keen keenan
keene kehoe kellogg kenney kenyon kern keyes kidd kiefer kilgore kimball kimble kincaid kindred
kinsey kirchner kirkland kirkpatrick kitchens knott knowlton koenig kraft lackey ladd lafferty
laird lake lamm landers landis langdon langford langley lanier lantz larkin lassiter latham
lathrop lauer laughlin lavender lawhorn leake leary ledford lees legg leggett lehman lennon
lentz lett levine lewallen lightfoot lilly lind lineberry linn linton lipscomb lively lockhart
lockwood loftin looney lovelace lovett loy lundy lusk lyle lyles lyman mabry mackey macon magee
maguire mahan maher mahon malloy maloney mangum manley mansfield maples marcum markham marlow
marr marrero marston martell masters matlock matney mattingly maupin maxey mayberry mayes
mayfield mcadams mcafee mcallister mcbee mccabe mccain mccaskill mcclellan mcclendon mccloud
mccollum mccord mccrary mccurdy mcdade mcdermott mcelroy mcfadden mcgill mcgowan mcgraw mchugh
mcinnis mckinley mclain mcleod mcmanus mcmillian mcnally mcnamara mcneal mcnulty mcqueen mcrae
mcswain mcwilliams meacham medley meek meeks mendenhall merrill messer metcalf metz michaels
milam millard millsap milner minton mitchum mize mobley moeller moffett monson montague montano
montez moorman morehead moreland morey morin morrell morrill morrissey moseley mott moulton
mowery moya mundy munn munson murdock murphree muse musgrove musser myrick nance napier neely
neff neil nettles nevarez neville newberry newby newcomb newell newkirk newsome nichol nickerson
noe noland norwood nowlin nutt oakes oakley oates odell ogden ogle olivier oneil osborn
ostrander otero ott overton owensby padgett painter pardo parham parish parkinson parmer parr
parrott partin paschal patten paulson paxton payton peacock pearsall peel pegram pelletier
pemberton pendleton penn perdue persons pettit pettway phipps pickens pickett pierson pinkerton
piper pitman platt plummer poindexter polk pollock popp porterfield posey poston pounds prater
prewitt priest pritchard pritchett proffitt prosser pryor puckett pulliam purcell purdy purvis
putnam pyle quinlan quinones rader raines rainey rainwater raley ralston ramey ramseur ransom
rawlings rawls reardon redd redding redman reeder renfro reno rhoades rhoads rickard ricks
riddle rider riggins rinehart ritchie ritter robb robinette robins robson rockwell rogan roper
rountree rouse rucker rudd rudolph ruffin rupp rusk russ rutherford rutledge sadler salter sams
sanborn sanderson sargent satterfield saucedo savoy saxon schaffer schell schmid schofield
scholl schrader schuler scoggins scroggins scruggs seals sealy searcy sears seaton seay sedillo
seibert severson sewell shackelford shank shanks sharpe shea shearer sheffield shelley shephard
sherrill shipley shoemaker shook shrader shuler shultz shumate sibley siegel sikes simms sisk
sisson sizemore skaggs skelton slade slaughter slayton sledge smalley smallwood smiley smithson
sneed snider snipes snodgrass sommers sorensen southard sowell spalding spaulding spearman
spivey spradlin sprague spriggs springer sprouse squires stallings stamper stancil standley
stapleton starkey starling starnes staton steadman stearns steed steen stiles stinson stoddard
stoll stoner storey stovall stover stowe stratton stringer strother stroud stuckey sturgeon
sturgill suggs sumner sutherland sutter swain swank swartz sweat swisher tabor talbert talbot
tapp tarver teague teal templeton tharp thayer thibodeaux thigpen thomason thorne thornhill
thorpe thurman thurston tidwell tillman timmons tinsley tipton tobin tolbert toler tomlin
tomlinson toney trahan trammell travers trimble trotter trout truitt tubbs tuck tuttle twitty
upchurch upton usher vandyke varner veal vick vickers vinson voss waddell wadsworth waggoner
wainwright waite wakefield walden waldron wallis warden warfield washburn wasson watt webber
weddle weems welborn welsh wendt wentworth wertz westbrook whalen whaley wheatley whitcomb
whiteside whitlock whitman whitmore whitt whittaker whitten whittington wilburn wiles willett
williford willingham willoughby wills wilmoth wilt wimberly winfield wingate winn winslow wirth
witt wofford womack woo woodall woodruff woodson wooten worley wrenn yancey yarbrough yeager
yost youngblood zeller
";

/// Particles that join name parts in lower case ("Ludwig van Beethoven", "Vasco da Gama").
pub(crate) const NAME_PARTICLES: &[&str] = &[
    "van", "von", "de", "der", "den", "da", "das", "do", "dos", "di", "del", "della", "des", "du",
    "la", "le", "ter", "ten", "bin", "binti", "bint", "ibn", "al", "el", "y", "zu",
];

/// Places for the rule-based LOCATION recognizer: countries, capitals, large world cities, US
/// states, Canadian provinces and a few regions (lower case, ASCII-folded; one per line, multi-word
/// names with single spaces).
pub(crate) const PLACES: &str = "
afghanistan
albania
algeria
andorra
angola
argentina
armenia
australia
austria
azerbaijan
bahamas
bahrain
bangladesh
barbados
belarus
belgium
belize
benin
bhutan
bolivia
bosnia
bosnia and herzegovina
botswana
brazil
brunei
bulgaria
burkina faso
burundi
cambodia
cameroon
canada
cape verde
chad
chile
china
colombia
comoros
congo
costa rica
croatia
cuba
cyprus
czechia
czech republic
denmark
djibouti
dominican republic
ecuador
egypt
el salvador
eritrea
estonia
eswatini
ethiopia
fiji
finland
france
gabon
gambia
georgia
germany
ghana
greece
grenada
guatemala
guinea
guyana
haiti
honduras
hungary
iceland
india
indonesia
iran
iraq
ireland
israel
italy
ivory coast
jamaica
japan
jordan
kazakhstan
kenya
kosovo
kuwait
kyrgyzstan
laos
latvia
lebanon
lesotho
liberia
libya
liechtenstein
lithuania
luxembourg
madagascar
malawi
malaysia
maldives
mali
malta
mauritania
mauritius
mexico
moldova
monaco
mongolia
montenegro
morocco
mozambique
myanmar
namibia
nepal
netherlands
the netherlands
new zealand
nicaragua
niger
nigeria
north korea
north macedonia
norway
oman
pakistan
palestine
panama
papua new guinea
paraguay
peru
philippines
poland
portugal
qatar
romania
russia
rwanda
saudi arabia
senegal
serbia
seychelles
sierra leone
singapore
slovakia
slovenia
somalia
south africa
south korea
south sudan
spain
sri lanka
sudan
suriname
sweden
switzerland
syria
taiwan
tajikistan
tanzania
thailand
togo
trinidad and tobago
tunisia
turkey
turkiye
turkmenistan
uganda
ukraine
united arab emirates
united kingdom
united states
united states of america
uruguay
uzbekistan
venezuela
vietnam
yemen
zambia
zimbabwe
england
scotland
wales
northern ireland
great britain
britain
europe
asia
africa
north america
south america
latin america
middle east
scandinavia
siberia
patagonia
catalonia
bavaria
tuscany
sicily
sardinia
corsica
provence
normandy
brittany
andalusia
galicia
flanders
wallonia
kabul
tirana
algiers
luanda
buenos aires
yerevan
canberra
vienna
baku
dhaka
minsk
brussels
sarajevo
brasilia
sofia
phnom penh
ottawa
santiago
beijing
bogota
zagreb
havana
nicosia
prague
copenhagen
quito
cairo
tallinn
addis ababa
helsinki
paris
tbilisi
berlin
accra
athens
budapest
reykjavik
new delhi
delhi
jakarta
tehran
baghdad
dublin
jerusalem
tel aviv
rome
kingston
tokyo
amman
astana
nairobi
pristina
riyadh
bishkek
vientiane
riga
beirut
tripoli
vilnius
kuala lumpur
valletta
mexico city
chisinau
ulaanbaatar
podgorica
rabat
maputo
kathmandu
amsterdam
the hague
wellington
managua
abuja
lagos
pyongyang
skopje
oslo
muscat
islamabad
panama city
asuncion
lima
manila
warsaw
lisbon
doha
bucharest
moscow
kigali
dakar
belgrade
bratislava
ljubljana
mogadishu
pretoria
johannesburg
cape town
durban
seoul
busan
madrid
colombo
khartoum
stockholm
bern
damascus
taipei
dushanbe
dodoma
dar es salaam
bangkok
tunis
ankara
istanbul
kampala
kyiv
kiev
abu dhabi
dubai
london
washington dc
montevideo
tashkent
caracas
hanoi
ho chi minh city
saigon
sanaa
lusaka
harare
new york
new york city
los angeles
chicago
houston
phoenix
philadelphia
san antonio
san diego
dallas
san jose
austin
jacksonville
fort worth
columbus
charlotte
san francisco
indianapolis
seattle
denver
boston
el paso
nashville
detroit
oklahoma city
portland
las vegas
memphis
louisville
baltimore
milwaukee
albuquerque
tucson
fresno
sacramento
kansas city
atlanta
miami
raleigh
omaha
minneapolis
cleveland
tampa
pittsburgh
cincinnati
st louis
saint louis
orlando
new orleans
honolulu
anchorage
salt lake city
brooklyn
manhattan
toronto
montreal
vancouver
calgary
edmonton
winnipeg
quebec city
halifax
birmingham
manchester
liverpool
leeds
glasgow
edinburgh
bristol
sheffield
cardiff
belfast
newcastle
nottingham
leicester
oxford
cambridge
hamburg
munich
cologne
frankfurt
stuttgart
dusseldorf
dortmund
leipzig
dresden
hanover
nuremberg
bremen
marseille
lyon
toulouse
nice
nantes
strasbourg
bordeaux
lille
montpellier
barcelona
valencia
seville
zaragoza
malaga
bilbao
milan
naples
turin
palermo
genoa
bologna
florence
venice
verona
porto
rotterdam
utrecht
eindhoven
antwerp
ghent
zurich
geneva
basel
lausanne
salzburg
innsbruck
krakow
wroclaw
gdansk
poznan
lodz
brno
saint petersburg
st petersburg
novosibirsk
yekaterinburg
kazan
kharkiv
odesa
odessa
lviv
thessaloniki
izmir
antalya
gothenburg
malmo
bergen
aarhus
tampere
mumbai
bombay
kolkata
calcutta
chennai
madras
bangalore
bengaluru
hyderabad
ahmedabad
pune
surat
jaipur
lucknow
kanpur
nagpur
karachi
lahore
faisalabad
rawalpindi
chittagong
shanghai
guangzhou
shenzhen
chongqing
tianjin
wuhan
chengdu
nanjing
hangzhou
xian
hong kong
macau
osaka
kyoto
yokohama
nagoya
sapporo
fukuoka
kobe
incheon
daegu
surabaya
bandung
medan
cebu
davao
quezon city
chiang mai
phuket
da nang
yangon
mandalay
sydney
melbourne
brisbane
perth
adelaide
auckland
christchurch
sao paulo
rio de janeiro
salvador
belo horizonte
fortaleza
recife
porto alegre
curitiba
manaus
guadalajara
monterrey
puebla
tijuana
cancun
medellin
cali
cartagena
guayaquil
cordoba
rosario
valparaiso
alexandria
giza
casablanca
marrakech
fez
tangier
ibadan
kano
port harcourt
kumasi
mombasa
kisumu
cape coast
jeddah
mecca
medina
sharjah
isfahan
shiraz
mashhad
tabriz
basra
mosul
erbil
aleppo
alabama
alaska
arizona
arkansas
california
colorado
connecticut
delaware
florida
hawaii
idaho
illinois
indiana
iowa
kansas
kentucky
louisiana
maine
maryland
massachusetts
michigan
minnesota
mississippi
missouri
montana
nebraska
nevada
new hampshire
new jersey
new mexico
new york state
north carolina
north dakota
ohio
oklahoma
oregon
pennsylvania
rhode island
south carolina
south dakota
tennessee
texas
utah
vermont
washington state
west virginia
wisconsin
wyoming
ontario
quebec
british columbia
alberta
manitoba
saskatchewan
nova scotia
new brunswick
newfoundland
prince edward island
yukon
nunavut
northwest territories
queensland
new south wales
tasmania
";

/// More given names of South Asian, Arabic, African, East Asian, Slavic, Turkish and Portuguese
/// usage that the lists above lacked (written for Gatehouse; words that are
/// also common English words are left out).
pub(crate) const WORLD_FIRST_NAMES: &str = "
anushka devendra harsha jagdish madhavi prasad prateek shankar srinivas vikas farah saad usman
yousef ikenna kelechi olumide otieno achieng juma zawadi hiroko xiaoli ludmila bohdan hatice
guilherme
";

/// Family names of the same origins (written for Gatehouse; common English words left out).
pub(crate) const WORLD_SURNAMES: &str = "
aggarwal bhattacharya deshpande ganguly goyal sethi shukla srivastava begum akter wanjiku
agyeman naidoo kebede harada nomura kwiatkowski pawlowski nowicki jaworski witkowski michalak
szewczyk wroblewski zalewski jakubowski wlodarczyk sawicki sokolowski maciejewski wysocki
kazmierczak wasilewski czerwinski glowacki sikorski baranowski laskowski brzezinski grigoriev
vorobyov kuzmin korolev belyaev matveev denisov kazakov petrenko karakaya abboud najjar sabbagh
sousa almeida ferreira
";
