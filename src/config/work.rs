//! Settings of the work done in workrooms: agent runs, their model
//! provider, credits and approvals.

use std::time::Duration;

use anyhow::bail;
use clap::Args;

use super::Secret;

/// Which model provider runs call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ProviderKind {
    /// Offline and deterministic: the reply quotes the input.
    Builtin,
    /// An OpenAI-compatible HTTP API (`LLM_BASE_URL`).
    Openai,
}

#[derive(Args, Debug, Clone)]
pub struct WorkArgs {
    /// Runs each server executes at once.
    #[arg(long, env = "RUN_WORKERS", default_value_t = 4)]
    pub run_workers: usize,
    /// Seconds a worker's claim on a run lasts unless renewed; a run whose
    /// claim lapsed (its server stopped) is marked FAILED.
    #[arg(long, env = "RUN_LEASE_SECS", default_value_t = 30)]
    pub run_lease_secs: u64,
    /// Credits reserved by a run that names no `maxCredits`.
    #[arg(long, env = "RUN_DEFAULT_MAX_CREDITS", default_value_t = 100)]
    pub run_default_max_credits: i64,
    /// The largest `maxCredits` one run may ask for.
    #[arg(long, env = "RUN_MAX_CREDITS_LIMIT", default_value_t = 1_000_000)]
    pub run_max_credits_limit: i64,
    /// Longest run input, in characters.
    #[arg(long, env = "RUN_INPUT_MAX_CHARS", default_value_t = 20_000)]
    pub run_input_max_chars: usize,
    /// The longest a run may stream before it fails, in seconds.
    #[arg(long, env = "RUN_MAX_SECS", default_value_t = 600)]
    pub run_max_secs: u64,
    /// The longest reply a run may produce before it fails.
    #[arg(long, env = "RUN_OUTPUT_MAX_CHARS", default_value_t = 200_000)]
    pub run_output_max_chars: usize,
    /// `builtin` (offline) or `openai` (an OpenAI-compatible API).
    #[arg(long, env = "LLM_PROVIDER", value_enum, default_value_t = ProviderKind::Builtin)]
    pub llm_provider: ProviderKind,
    /// Milliseconds between the built-in provider's chunks.
    #[arg(long, env = "BUILTIN_LLM_CHUNK_DELAY_MS", default_value_t = 20)]
    pub builtin_llm_chunk_delay_ms: u64,
    /// Credits each chunk of the built-in provider costs.
    #[arg(long, env = "BUILTIN_LLM_CREDITS_PER_CHUNK", default_value_t = 1)]
    pub builtin_llm_credits_per_chunk: i64,
    /// Base URL of the OpenAI-compatible API (`…/v1`).
    #[arg(
        long,
        env = "LLM_BASE_URL",
        default_value = "https://api.openai.com/v1"
    )]
    pub llm_base_url: String,
    /// The server's key for that API; a workspace may bring its own.
    #[arg(long, env = "LLM_API_KEY", hide_env_values = true)]
    pub llm_api_key: Option<String>,
    /// Credits each piece of an OpenAI-compatible reply costs.
    #[arg(long, env = "LLM_CREDITS_PER_CHUNK", default_value_t = 1)]
    pub llm_credits_per_chunk: i64,
    /// Seconds to wait for the provider's answer, and for each next piece.
    #[arg(long, env = "LLM_TIMEOUT_SECS", default_value_t = 60)]
    pub llm_timeout_secs: u64,
    /// The model asked for.
    #[arg(long, env = "LLM_MODEL", default_value = "gpt-4o-mini")]
    pub llm_model: String,
    /// 32 bytes, base64: encrypts workspaces' provider keys at rest.
    #[arg(long, env = "SECRETS_KEY", hide_env_values = true)]
    pub secrets_key: Option<String>,
    /// Hours an approval request stays open before it is EXPIRED.
    #[arg(long, env = "APPROVAL_TTL_HOURS", default_value_t = 168)]
    pub approval_ttl_hours: u64,
}

#[derive(Debug, Clone)]
pub struct WorkConfig {
    pub run_workers: usize,
    pub run_lease: Duration,
    pub run_default_max_credits: i64,
    pub run_max_credits_limit: i64,
    pub run_input_max_chars: usize,
    pub run_max: Duration,
    pub run_output_max_chars: usize,
    pub provider: ProviderKind,
    pub builtin_chunk_delay: Duration,
    pub builtin_credits_per_chunk: i64,
    pub llm_base_url: String,
    pub llm_api_key: Option<Secret>,
    pub llm_model: String,
    pub llm_credits_per_chunk: i64,
    pub llm_timeout: Duration,
    pub secrets_key: Option<Secret>,
    pub approval_ttl: Duration,
}

impl Default for WorkConfig {
    fn default() -> Self {
        Self {
            run_workers: 4,
            run_lease: Duration::from_secs(30),
            run_default_max_credits: 100,
            run_max_credits_limit: 1_000_000,
            run_input_max_chars: 20_000,
            run_max: Duration::from_secs(600),
            run_output_max_chars: 200_000,
            provider: ProviderKind::Builtin,
            builtin_chunk_delay: Duration::from_millis(20),
            builtin_credits_per_chunk: 1,
            llm_base_url: "https://api.openai.com/v1".into(),
            llm_api_key: None,
            llm_model: "gpt-4o-mini".into(),
            llm_credits_per_chunk: 1,
            llm_timeout: Duration::from_secs(60),
            secrets_key: None,
            approval_ttl: Duration::from_secs(168 * 3600),
        }
    }
}

impl WorkConfig {
    pub fn from_args(args: WorkArgs) -> anyhow::Result<Self> {
        if args.run_max_secs == 0 || args.run_output_max_chars == 0 {
            bail!("RUN_MAX_SECS and RUN_OUTPUT_MAX_CHARS must be at least 1");
        }
        if args.run_lease_secs == 0 {
            bail!("RUN_LEASE_SECS must be at least 1");
        }
        if args.run_max_credits_limit < 1 {
            bail!("RUN_MAX_CREDITS_LIMIT must be at least 1");
        }
        if !(1..=args.run_max_credits_limit).contains(&args.run_default_max_credits) {
            bail!("RUN_DEFAULT_MAX_CREDITS must be from 1 to RUN_MAX_CREDITS_LIMIT");
        }
        if args.builtin_llm_credits_per_chunk < 0 {
            bail!("BUILTIN_LLM_CREDITS_PER_CHUNK must not be negative");
        }
        if args.llm_credits_per_chunk < 0 {
            bail!("LLM_CREDITS_PER_CHUNK must not be negative");
        }
        if args.llm_timeout_secs == 0 {
            bail!("LLM_TIMEOUT_SECS must be at least 1");
        }
        if args.approval_ttl_hours == 0 {
            bail!("APPROVAL_TTL_HOURS must be at least 1");
        }
        if let Some(key) = &args.secrets_key
            && decode_key(key).is_none()
        {
            bail!("SECRETS_KEY must be 32 bytes, base64-encoded");
        }
        Ok(Self {
            run_workers: args.run_workers,
            run_lease: Duration::from_secs(args.run_lease_secs),
            run_default_max_credits: args.run_default_max_credits,
            run_max_credits_limit: args.run_max_credits_limit,
            run_input_max_chars: args.run_input_max_chars,
            run_max: Duration::from_secs(args.run_max_secs),
            run_output_max_chars: args.run_output_max_chars,
            provider: args.llm_provider,
            builtin_chunk_delay: Duration::from_millis(args.builtin_llm_chunk_delay_ms),
            builtin_credits_per_chunk: args.builtin_llm_credits_per_chunk,
            llm_base_url: args.llm_base_url.trim_end_matches('/').to_owned(),
            llm_api_key: args.llm_api_key.map(Secret::new),
            llm_model: args.llm_model,
            llm_credits_per_chunk: args.llm_credits_per_chunk,
            llm_timeout: Duration::from_secs(args.llm_timeout_secs),
            secrets_key: args.secrets_key.map(Secret::new),
            approval_ttl: Duration::from_secs(args.approval_ttl_hours * 3600),
        })
    }
}

/// The 32 bytes of a base64 `SECRETS_KEY`.
pub fn decode_key(text: &str) -> Option<[u8; 32]> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .ok()?;
    bytes.try_into().ok()
}
