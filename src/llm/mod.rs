//! Model providers behind one interface: a run hands a prompt over and
//! reads the reply back as a stream of chunks, each with what it cost.
//! `LLM_PROVIDER` picks the built-in deterministic provider (offline, the
//! default) or an OpenAI-compatible HTTP API.

mod builtin;
mod openai;

use std::sync::Arc;

use futures_util::stream::BoxStream;
use serde_json::Value;

use crate::config::{ProviderKind, Secret, WorkConfig};

/// What a run asks of a model.
#[derive(Clone, Debug)]
pub struct Prompt {
    /// The agent's name, when an agent runs.
    pub agent_name: Option<String>,
    /// The agent's instructions (its system prompt).
    pub instructions: Option<String>,
    /// The agent's Style Memory.
    pub style_memory: Option<Value>,
    pub input: String,
    /// The workspace's own provider key, when it brought one.
    pub api_key: Option<Secret>,
}

/// The next piece of a reply, and the credits it cost.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chunk {
    pub text: String,
    pub credits: i64,
}

/// Why a reply stopped short: said to the run's watchers as is, so it
/// never carries a secret.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{0}")]
pub struct ProviderError(pub String);

pub type Chunks = BoxStream<'static, Result<Chunk, ProviderError>>;

pub trait Provider: Send + Sync {
    /// The reply to `prompt`, chunk by chunk. Dropping the stream abandons
    /// the call.
    fn stream(&self, prompt: Prompt) -> Chunks;
}

/// The provider the settings name.
pub fn from_config(work: &WorkConfig) -> Arc<dyn Provider> {
    match work.provider {
        ProviderKind::Builtin => Arc::new(builtin::Builtin {
            delay: work.builtin_chunk_delay,
            credits_per_chunk: work.builtin_credits_per_chunk,
        }),
        ProviderKind::Openai => Arc::new(openai::OpenAi {
            client: reqwest::Client::builder()
                .connect_timeout(std::time::Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
            base_url: work.llm_base_url.clone(),
            model: work.llm_model.clone(),
            api_key: work.llm_api_key.clone(),
            credits_per_chunk: work.llm_credits_per_chunk,
            idle_timeout: work.llm_timeout,
        }),
    }
}
