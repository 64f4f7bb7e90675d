//! Response bodies: [`ScimBody`] (a SCIM response) and [`ResponseBody`] (a SCIM
//! response or the inner service's body, for [`Scim`](crate::Scim)).

use std::convert::Infallible;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

/// The body of a response produced by the SCIM engine: one buffer of JSON (or
/// nothing), sent as a single frame. Never fails.
#[derive(Debug, Default, Clone)]
pub struct ScimBody {
    data: Option<Bytes>,
}

impl ScimBody {
    /// A body holding `data` (empty data is an empty body).
    pub fn new(data: Bytes) -> Self {
        Self {
            data: (!data.is_empty()).then_some(data),
        }
    }

    /// The bytes not yet sent (all of them before the body is polled).
    pub fn as_bytes(&self) -> &[u8] {
        self.data.as_deref().unwrap_or_default()
    }
}

impl From<Bytes> for ScimBody {
    fn from(data: Bytes) -> Self {
        Self::new(data)
    }
}

impl Body for ScimBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.get_mut().data.take().map(|d| Ok(Frame::data(d))))
    }

    fn is_end_stream(&self) -> bool {
        self.data.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.data.as_ref().map_or(0, |d| d.len() as u64))
    }
}

pin_project! {
    /// The response body of [`Scim`](crate::Scim): either a SCIM response or the
    /// inner service's body, passed through untouched.
    pub struct ResponseBody<B> {
        #[pin]
        kind: Kind<B>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<B> {
        Scim { body: ScimBody },
        Inner { #[pin] body: B },
    }
}

impl<B> ResponseBody<B> {
    pub(crate) fn scim(body: ScimBody) -> Self {
        Self {
            kind: Kind::Scim { body },
        }
    }

    pub(crate) fn inner(body: B) -> Self {
        Self {
            kind: Kind::Inner { body },
        }
    }
}

impl<B> fmt::Debug for ResponseBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.kind {
            Kind::Scim { .. } => "Scim",
            Kind::Inner { .. } => "Inner",
        };
        f.debug_tuple("ResponseBody").field(&kind).finish()
    }
}

impl<B> Body for ResponseBody<B>
where
    B: Body<Data = Bytes>,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        match self.project().kind.project() {
            KindProj::Scim { body } => Pin::new(body)
                .poll_frame(cx)
                .map_err(|never| match never {}),
            KindProj::Inner { body } => body.poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Scim { body } => body.is_end_stream(),
            Kind::Inner { body } => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Scim { body } => body.size_hint(),
            Kind::Inner { body } => body.size_hint(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scim_body_is_one_frame_with_exact_size() {
        let b = ScimBody::new(Bytes::from_static(b"{}"));
        assert_eq!(b.size_hint().exact(), Some(2));
        assert!(!b.is_end_stream());
        assert_eq!(b.as_bytes(), b"{}");
        assert!(ScimBody::new(Bytes::new()).is_end_stream());
    }
}
