//! What an activity event's `changes` may show a reader. An event is read
//! with VIEW on its area; a field it describes may be guarded by a stricter
//! capability (hidden navigation needs an admin). A reader without that
//! capability gets the event without that field, so that the feed never
//! shows what the field itself would refuse.

use serde_json::Value;

use super::{Capability, Membership};

/// The capability guarding a field of an event's `changes`, where it is
/// stricter than the event's area.
fn guarding(action: &str, _field: &str) -> Option<Capability> {
    match action {
        "workspace.navigation_changed" => Some(Capability::ReadNavigation),
        // A prompt's title, description, tags and variables may be those of
        // one still in draft, which only editors see.
        "prompt.created" | "prompt.updated" | "prompt.draft_saved" => {
            Some(Capability::ManagePrompts)
        }
        _ => None,
    }
}

/// Every capability `guarding` names, one bit each.
/// `ReadApiKeys` guards which key acted (`ActivityEvent.by.apiKey`).
const GUARDS: [Capability; 3] = [
    Capability::ReadNavigation,
    Capability::ReadApiKeys,
    Capability::ManagePrompts,
];

/// The guarding capabilities a reader lacks. Readers with the same
/// redaction see the same `changes` of every event, so live payloads are
/// shared per (operation, redaction).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Redaction(u32);

impl Redaction {
    /// Nothing hidden.
    pub const NONE: Redaction = Redaction(0);

    pub fn for_reader(reader: &Membership) -> Self {
        let mut bits = 0;
        for (bit, capability) in GUARDS.iter().enumerate() {
            if !reader.meets(*capability, None) {
                bits |= 1 << bit;
            }
        }
        Self(bits)
    }

    fn hides(self, capability: Capability) -> bool {
        GUARDS
            .iter()
            .position(|c| *c == capability)
            .is_some_and(|bit| self.0 & (1 << bit) != 0)
    }

    /// Whether the reader may see which API key acted.
    pub fn shows_keys(self) -> bool {
        !self.hides(Capability::ReadApiKeys)
    }

    /// A stable name for the class, for keys of shared payloads.
    pub fn key(self) -> u32 {
        self.0
    }

    /// The `changes` of an event of `action` as this reader may see them;
    /// None when nothing is left.
    pub fn changes(self, action: &str, changes: Option<&Value>) -> Option<Value> {
        let changes = changes?;
        if self.0 == 0 {
            return Some(changes.clone());
        }
        let Value::Object(fields) = changes else {
            return Some(changes.clone());
        };
        let kept: serde_json::Map<String, Value> = fields
            .iter()
            .filter(|(field, _)| guarding(action, field).is_none_or(|c| !self.hides(c)))
            .map(|(field, value)| (field.clone(), value.clone()))
            .collect();
        (!kept.is_empty()).then_some(Value::Object(kept))
    }
}
