//! Bodies written as they are produced, for answers that grow with a group's history: the
//! server holds one chunk at a time, never the whole document.

use poem::{Body, IntoResponse, Response};
use poem_openapi::payload::Payload;
use poem_openapi::registry::MetaSchemaRef;
use poem_openapi::types::Type;
use serde_json::Value;
use splitledger_core::Storage;
use splitledger_core::ledger::ExportStream;

/// The body of an export, streamed a page of records at a time.
///
/// Once the first chunk is out the status is sent, so a failure past that point cannot become
/// a problem document: the server logs it and ends the connection without the final chunk,
/// and the client sees a truncated transfer rather than a document it could take for whole.
pub fn export_body<S: Storage>(stream: ExportStream<S>) -> Body {
    let chunks = futures_util::stream::unfold(Some(stream), |state| async move {
        let mut stream = state?;
        match stream.next_chunk().await {
            Ok(Some(chunk)) => Some((Ok(chunk), Some(stream))),
            Ok(None) => None,
            Err(error) => {
                tracing::error!(%error, "export failed mid-stream");
                Some((Err(std::io::Error::other(error)), None))
            }
        }
    });
    Body::from_bytes_stream(chunks)
}

/// A streamed JSON body: documented with the schema of any JSON value, as `Json<Value>` is.
#[derive(Debug)]
pub struct JsonStream(pub Body);

impl Payload for JsonStream {
    const CONTENT_TYPE: &'static str = "application/json; charset=utf-8";

    fn schema_ref() -> MetaSchemaRef {
        Value::schema_ref()
    }
}

impl IntoResponse for JsonStream {
    fn into_response(self) -> Response {
        Response::builder()
            .content_type(Self::CONTENT_TYPE)
            .body(self.0)
    }
}

/// A streamed text body (its content type is the operation's, e.g. `text/csv`).
#[derive(Debug)]
pub struct TextStream(pub Body);

impl Payload for TextStream {
    const CONTENT_TYPE: &'static str = "text/plain; charset=utf-8";

    fn schema_ref() -> MetaSchemaRef {
        String::schema_ref()
    }
}

impl IntoResponse for TextStream {
    fn into_response(self) -> Response {
        Response::builder()
            .content_type(Self::CONTENT_TYPE)
            .body(self.0)
    }
}
