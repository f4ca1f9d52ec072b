//! Where uploaded files live, by `STORAGE_URL`: a directory (`file://…`) or
//! an S3-compatible bucket (`s3://bucket/prefix`), both through
//! `object_store`. Files are written once under unguessable names, read
//! back by the server, which serves them publicly, and deleted when they are
//! replaced or their workspace is purged.

use std::sync::Arc;

use axum::body::Bytes;
use futures_util::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, PutPayload};

use crate::config::StorageConfig;
use crate::error::{AppError, AppResult};

#[derive(Clone)]
pub struct Storage {
    store: Arc<dyn ObjectStore>,
    prefix: String,
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Storage")
            .field("store", &self.store.to_string())
            .finish()
    }
}

impl Storage {
    pub fn open(config: &StorageConfig) -> anyhow::Result<Self> {
        let url = config.url.as_str();
        if let Some(dir) = url.strip_prefix("file://") {
            std::fs::create_dir_all(dir)?;
            return Ok(Self {
                store: Arc::new(LocalFileSystem::new_with_prefix(dir)?),
                prefix: String::new(),
            });
        }
        let Some(rest) = url.strip_prefix("s3://") else {
            anyhow::bail!("STORAGE_URL must start with file:// or s3://");
        };
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            anyhow::bail!("STORAGE_URL s3://bucket/prefix names no bucket");
        }
        let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
        if let Some(endpoint) = &config.s3_endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"))
                .with_virtual_hosted_style_request(false);
        }
        if let Some(region) = &config.s3_region {
            builder = builder.with_region(region);
        }
        if let (Some(id), Some(secret)) = (&config.s3_access_key_id, &config.s3_secret_access_key) {
            builder = builder
                .with_access_key_id(id)
                .with_secret_access_key(secret.expose());
        }
        Ok(Self {
            store: Arc::new(builder.build()?),
            prefix: prefix.trim_matches('/').to_owned(),
        })
    }

    fn path(&self, key: &str) -> StorePath {
        if self.prefix.is_empty() {
            StorePath::from(key)
        } else {
            StorePath::from(format!("{}/{key}", self.prefix))
        }
    }

    pub async fn put(&self, key: &str, bytes: Bytes) -> AppResult<()> {
        self.store
            .put(&self.path(key), PutPayload::from_bytes(bytes))
            .await
            .map_err(AppError::internal)?;
        Ok(())
    }

    /// The file's bytes; None when there is none.
    pub async fn get(&self, key: &str) -> AppResult<Option<Bytes>> {
        match self.store.get(&self.path(key)).await {
            Ok(found) => Ok(Some(found.bytes().await.map_err(AppError::internal)?)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(err) => Err(AppError::internal(err)),
        }
    }

    /// Deletes a file; one that is already gone is no error.
    pub async fn delete(&self, key: &str) -> AppResult<()> {
        match self.store.delete(&self.path(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(err) => Err(AppError::internal(err)),
        }
    }

    /// Deletes every file under `folder/`; returns how many went.
    pub async fn delete_folder(&self, folder: &str) -> AppResult<usize> {
        let folder = self.path(folder);
        let mut files = self.store.list(Some(&folder));
        let mut deleted = 0;
        while let Some(file) = files.try_next().await.map_err(AppError::internal)? {
            match self.store.delete(&file.location).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => deleted += 1,
                Err(err) => return Err(AppError::internal(err)),
            }
        }
        Ok(deleted)
    }
}
