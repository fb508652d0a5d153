//! A platform wrapped for a test: [`Wrapped`] puts an [`Around`] (what the
//! test changes or counts) in front of a real adapter, usually the
//! simulator. Every call the `Around` leaves alone reaches the adapter
//! underneath, so a test wrapper states only what it changes (a wrapper,
//! not a mock).

use berth_core::meeting::PlatformKind;
use berth_core::platform::{
    BotSpec, Health, Platform, PlatformError, ResourceSpec, SlotRef, Workload,
};
use std::ops::Deref;
use std::sync::Arc;

/// What a test wrapper does around each call. Each method gets the adapter
/// underneath (`inner`). The required calls of [`Platform`] reach `inner`
/// unless overridden; the optional ones (`pulls_on_start`, `update_image`,
/// `unavailable`) keep [`Platform`]'s own defaults unless overridden, as a
/// hand-written wrapper that leaves them out does.
#[async_trait::async_trait]
pub trait Around: Send + Sync {
    /// [`Platform::pull_image`].
    async fn pull_image(&self, inner: &dyn Platform, image: &str) -> Result<(), PlatformError> {
        inner.pull_image(image).await
    }
    /// [`Platform::pulls_on_start`]; default: no.
    fn pulls_on_start(&self, _inner: &dyn Platform) -> bool {
        false
    }
    /// [`Platform::update_image`]; default: nothing to do.
    async fn update_image(
        &self,
        _inner: &dyn Platform,
        _slot: &SlotRef,
        _spec: &ResourceSpec,
    ) -> Result<(), PlatformError> {
        Ok(())
    }
    /// [`Platform::create_resource`].
    async fn create_resource(
        &self,
        inner: &dyn Platform,
        slot: &SlotRef,
        spec: &ResourceSpec,
    ) -> Result<String, PlatformError> {
        inner.create_resource(slot, spec).await
    }
    /// [`Platform::start`].
    async fn start(
        &self,
        inner: &dyn Platform,
        slot: &SlotRef,
        bot: &BotSpec,
    ) -> Result<Option<String>, PlatformError> {
        inner.start(slot, bot).await
    }
    /// [`Platform::stop`].
    async fn stop(&self, inner: &dyn Platform, slot: &SlotRef) -> Result<(), PlatformError> {
        inner.stop(slot).await
    }
    /// [`Platform::delete_resource`].
    async fn delete_resource(
        &self,
        inner: &dyn Platform,
        slot: &SlotRef,
    ) -> Result<(), PlatformError> {
        inner.delete_resource(slot).await
    }
    /// [`Platform::list`].
    async fn list(&self, inner: &dyn Platform) -> Result<Vec<Workload>, PlatformError> {
        inner.list().await
    }
    /// [`Platform::unavailable`]; default: never.
    fn unavailable(&self, _inner: &dyn Platform) -> Option<String> {
        None
    }
}

/// `around` in front of `inner`; reads as its `Around` (`Deref`), so a
/// test reads the counters it keeps directly.
pub struct Wrapped<A> {
    /// The adapter underneath.
    pub inner: Arc<dyn Platform>,
    /// What the test changes or counts.
    pub around: A,
}

impl<A> Wrapped<A> {
    /// `around` in front of `inner`, shared.
    pub fn new(inner: Arc<dyn Platform>, around: A) -> Arc<Wrapped<A>> {
        Arc::new(Wrapped { inner, around })
    }
}

impl<A> Deref for Wrapped<A> {
    type Target = A;
    fn deref(&self) -> &A {
        &self.around
    }
}

#[async_trait::async_trait]
impl<A: Around> Platform for Wrapped<A> {
    fn kind(&self) -> PlatformKind {
        self.inner.kind()
    }
    async fn pull_image(&self, image: &str) -> Result<(), PlatformError> {
        self.around.pull_image(&*self.inner, image).await
    }
    fn pulls_on_start(&self) -> bool {
        self.around.pulls_on_start(&*self.inner)
    }
    async fn update_image(&self, slot: &SlotRef, spec: &ResourceSpec) -> Result<(), PlatformError> {
        self.around.update_image(&*self.inner, slot, spec).await
    }
    async fn create_resource(
        &self,
        slot: &SlotRef,
        spec: &ResourceSpec,
    ) -> Result<String, PlatformError> {
        self.around.create_resource(&*self.inner, slot, spec).await
    }
    async fn start(&self, slot: &SlotRef, bot: &BotSpec) -> Result<Option<String>, PlatformError> {
        self.around.start(&*self.inner, slot, bot).await
    }
    async fn stop(&self, slot: &SlotRef) -> Result<(), PlatformError> {
        self.around.stop(&*self.inner, slot).await
    }
    async fn delete_resource(&self, slot: &SlotRef) -> Result<(), PlatformError> {
        self.around.delete_resource(&*self.inner, slot).await
    }
    async fn describe(&self, slot: &SlotRef, description: &str) -> Result<(), PlatformError> {
        self.inner.describe(slot, description).await
    }
    async fn list(&self) -> Result<Vec<Workload>, PlatformError> {
        self.around.list(&*self.inner).await
    }
    async fn health(&self) -> Health {
        self.inner.health().await
    }
    fn unavailable(&self) -> Option<String> {
        self.around.unavailable(&*self.inner)
    }
}
