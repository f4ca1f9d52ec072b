//! Documents already parsed and checked, by their text: the operations an
//! application sends over and over are parsed once. Bounded by the text
//! they hold; when full it starts again empty, so text that never repeats
//! costs what it did without it.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use async_graphql::parser::types::ExecutableDocument;

use super::DocumentLimits;

/// Bytes of document text kept.
const CACHE_BYTES: usize = 2 << 20;
/// Longest document kept.
const LONGEST: usize = 16 << 10;

#[derive(Default)]
struct Documents {
    by_text: HashMap<Box<str>, (DocumentLimits, Arc<ExecutableDocument>)>,
    bytes: usize,
}

static DOCUMENTS: LazyLock<Mutex<Documents>> = LazyLock::new(Mutex::default);

/// The document of this text, if it passed these limits before.
pub fn get(text: &str, limits: DocumentLimits) -> Option<Arc<ExecutableDocument>> {
    let documents = DOCUMENTS.lock().ok()?;
    let (checked_with, document) = documents.by_text.get(text)?;
    (*checked_with == limits).then(|| document.clone())
}

/// Keeps a document that passed `limits`.
pub fn put(text: &str, limits: DocumentLimits, document: Arc<ExecutableDocument>) {
    if text.len() > LONGEST {
        return;
    }
    let Ok(mut documents) = DOCUMENTS.lock() else {
        return;
    };
    if documents.bytes + text.len() > CACHE_BYTES {
        *documents = Documents::default();
    }
    if documents
        .by_text
        .insert(text.into(), (limits, document))
        .is_none()
    {
        documents.bytes += text.len();
    }
}
