//! The built-in provider: offline and deterministic. Its reply quotes the
//! input word for word, so a client can recognise it, and arrives a few
//! words at a time.

use std::time::Duration;

use futures_util::StreamExt;

use super::{Chunk, Chunks, Prompt, Provider};

/// Words per chunk.
const WORDS: usize = 3;

pub struct Builtin {
    pub delay: Duration,
    pub credits_per_chunk: i64,
}

/// The whole reply to a prompt.
pub fn reply(prompt: &Prompt) -> String {
    let who = prompt.agent_name.as_deref().unwrap_or("the model");
    format!(
        "Draft by {who}, as asked:\n\n{}\n\nEnd of draft.",
        prompt.input
    )
}

/// `text` cut before every `WORDS`-th word; the pieces join back to `text`.
pub fn pieces(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut words = 0;
    let mut in_word = false;
    for (at, c) in text.char_indices() {
        let starts_word = !c.is_whitespace() && !in_word;
        in_word = !c.is_whitespace();
        if starts_word {
            if words == WORDS {
                out.push(text[start..at].to_owned());
                start = at;
                words = 0;
            }
            words += 1;
        }
    }
    if start < text.len() {
        out.push(text[start..].to_owned());
    }
    out
}

impl Provider for Builtin {
    fn stream(&self, prompt: Prompt) -> Chunks {
        let delay = self.delay;
        let credits = self.credits_per_chunk;
        futures_util::stream::iter(pieces(&reply(&prompt)))
            .then(move |text| async move {
                tokio::time::sleep(delay).await;
                Ok(Chunk { text, credits })
            })
            .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::pieces;

    #[test]
    fn pieces_join_back_to_the_text() {
        for text in [
            "",
            "one",
            "a b c d e f g",
            "  lead\n\ntabs\tand  spaces  ",
            "é ü 字 ✓ x",
        ] {
            let cut = pieces(text);
            assert_eq!(cut.concat(), text);
            assert!(cut.iter().all(|p| !p.is_empty()));
        }
        assert_eq!(pieces("a b c d e f g").len(), 3);
    }
}
