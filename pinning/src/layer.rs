//! A tower `Layer` that answers refused requests itself and passes the others on
//! (for hyper, axum and any tower stack).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::{Decision, Policy};

/// Wraps a service with a [`Policy`].
#[derive(Debug, Clone)]
pub struct PinningLayer {
    policy: Arc<Policy>,
}

impl PinningLayer {
    /// A layer enforcing `policy`.
    pub fn new(policy: Policy) -> Self {
        PinningLayer {
            policy: Arc::new(policy),
        }
    }
}

impl<S> tower_layer::Layer<S> for PinningLayer {
    type Service = PinningService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        PinningService {
            inner,
            policy: self.policy.clone(),
        }
    }
}

/// The service made by [`PinningLayer`].
#[derive(Debug, Clone)]
pub struct PinningService<S> {
    inner: S,
    policy: Arc<Policy>,
}

impl<S, B, R> tower_service::Service<http::Request<B>> for PinningService<S>
where
    S: tower_service::Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    R: From<String> + Send + 'static,
{
    type Response = http::Response<R>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        match self
            .policy
            .evaluate(req.method(), req.uri().path(), req.headers())
        {
            Decision::Allow => Box::pin(self.inner.call(req)),
            Decision::Deny(denial) => {
                let resp = denial.into_response::<R>();
                Box::pin(async move { Ok(resp) })
            }
        }
    }
}
