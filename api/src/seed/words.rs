//! Word lists the generator draws names, companies and reasons from.

pub const FIRST_NAMES: &[&str] = &[
    "Olivia", "Liam", "Emma", "Noah", "Ava", "Elijah", "Sophia", "James", "Isabella", "Lucas", "Mia", "Mateo",
    "Amelia", "Benjamin", "Harper", "Theo", "Evelyn", "Henry", "Aisha", "Kenji", "Priya", "Diego", "Fatima", "Sven",
    "Chloe", "Omar", "Yara", "Nikolai", "Hannah", "Ravi",
];

pub const LAST_NAMES: &[&str] = &[
    "Smith",
    "Johnson",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Nguyen",
    "Kim",
    "Patel",
    "Schmidt",
    "Rossi",
    "Dubois",
    "Kowalski",
    "Tanaka",
    "Silva",
    "Okafor",
    "Larsen",
    "Cohen",
    "Novak",
    "Haddad",
    "Murphy",
    "Fischer",
    "Moreau",
    "Costa",
];

pub const COMPANIES: &[&str] = &[
    "Acme Corp",
    "Globex",
    "Initech",
    "Umbrella Health",
    "Stark Logistics",
    "Wayne Retail",
    "Hooli",
    "Vandelay Imports",
    "Soylent Foods",
    "Tyrell Systems",
    "Cyberdyne Labs",
    "Wonka Confections",
    "Pied Piper",
    "Massive Dynamic",
    "Gringotts Finance",
    "Oscorp",
    "Aperture Science",
    "Monarch Travel",
    "Nakatomi Trading",
    "Duff Beverages",
];

/// The seeded companies' industries, given in turn: seven, so that each rep (six at the
/// demo size) owns companies of several industries.
pub const INDUSTRIES: &[&str] =
    &["Software", "Manufacturing", "Retail", "Healthcare", "Financial Services", "Logistics", "Media"];

pub const TEAMS: &[&str] = &["North America", "EMEA", "APAC", "LATAM", "Enterprise", "Mid-Market", "SMB", "Partners"];

/// (source, share in ‰, acquisition cost range in whole currency units)
pub const SOURCES: &[(&str, u32, (i64, i64))] = &[
    ("Website", 280, (40, 120)),
    ("Referral", 150, (20, 80)),
    ("LinkedIn", 170, (120, 300)),
    ("Paid Ads", 160, (150, 450)),
    ("Event", 100, (250, 700)),
    ("Cold Outreach", 90, (60, 160)),
    ("Partner", 50, (100, 250)),
];

/// (stage name, win probability %) of the demo pipeline, in order.
pub const STAGES: &[(&str, i32)] =
    &[("Lead In", 10), ("Qualified", 20), ("Demo Scheduled", 40), ("Proposal Sent", 60), ("Negotiation", 80)];

/// (lost reason, weight)
pub const LOST_REASONS: &[(&str, u32)] = &[
    ("Price too high", 22),
    ("Chose a competitor", 20),
    ("No budget", 14),
    ("No decision / went dark", 16),
    ("Bad timing", 9),
    ("Missing feature", 8),
    ("Not a fit", 7),
    ("Unresponsive after demo", 4),
];

pub const DISQUALIFY_REASONS: &[&str] =
    &["Not a fit", "No budget", "Student / personal use", "Duplicate lead", "Spam", "Outside service area"];

pub const MEETING_NOTES: &[&str] = &[
    "Walked through the pricing tiers.",
    "Wants a follow-up with their CFO.",
    "Asked about SSO and audit logs.",
    "Good energy; next step is a proposal.",
    "Needs integration with their ERP.",
];

pub const TASK_TITLES: &[&str] = &[
    "Send the proposal",
    "Call back about pricing",
    "Book a demo with the team",
    "Follow up on the trial",
    "Send the contract for signature",
    "Check in after the security review",
    "Share the case study",
    "Confirm the decision date",
];
