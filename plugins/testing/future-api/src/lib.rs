//! A test-only plugin built against `joblet:runtime@2.0.0`, a major version this jrt does not
//! speak; the host must refuse it and name both versions.

wit_bindgen::generate!({ path: "wit", world: "family-plugin" });

use exports::joblet::runtime::plugin::{Guest, PluginInfo};

pub struct Future;

impl Guest for Future {
    fn info() -> PluginInfo {
        joblet::runtime::host::log("future plugin says hello");
        PluginInfo {
            name: "future".into(),
            version: "9.0.0".into(),
            families: vec!["future".into()],
            api_version: "2.0.0".into(),
            homepage: "https://example.invalid".into(),
        }
    }

    fn detect(_facts: Vec<(String, String)>) -> Result<String, String> {
        Err("not a real plugin".into())
    }
}

#[cfg(target_arch = "wasm32")]
export!(Future);
