//! The chain specs the node knows by name, built from the runtime's genesis presets.

use membria_runtime::{
	DEVELOPMENT_PRESET, LOCAL_TESTNET_PRESET, SS58_PREFIX, TOKEN_DECIMALS, TOKEN_SYMBOL,
	WASM_BINARY,
};
use sc_service::{ChainType, Properties};

/// The chain spec type of Membria: no client extensions.
pub type ChainSpec = sc_service::GenericChainSpec;

/// The names `--chain` accepts, besides a path to a chain-spec JSON file.
pub const KNOWN_CHAINS: &[&str] = &["dev", "local"];

/// What a wallet needs to show balances.
fn token_properties() -> Properties {
	let mut properties = Properties::new();
	properties.insert("tokenSymbol".into(), TOKEN_SYMBOL.into());
	properties.insert("tokenDecimals".into(), TOKEN_DECIMALS.into());
	properties.insert("ss58Format".into(), SS58_PREFIX.into());
	properties
}

fn runtime_code() -> Result<&'static [u8], String> {
	WASM_BINARY.ok_or_else(|| {
		"the runtime's wasm blob was not built (was SKIP_WASM_BUILD set?); rebuild without it"
			.to_string()
	})
}

/// `--dev`: one validator (Alice), short parameters, sudo for Alice.
pub fn development_chain_spec() -> Result<ChainSpec, String> {
	Ok(ChainSpec::builder(runtime_code()?, None)
		.with_name("Membria Development")
		.with_id("membria_dev")
		.with_protocol_id("membria-dev")
		.with_chain_type(ChainType::Development)
		.with_genesis_config_preset_name(DEVELOPMENT_PRESET)
		.with_properties(token_properties())
		.build())
}

/// `--chain local`: Alice, Bob and Charlie validate.
pub fn local_testnet_chain_spec() -> Result<ChainSpec, String> {
	Ok(ChainSpec::builder(runtime_code()?, None)
		.with_name("Membria Local Testnet")
		.with_id("membria_local_testnet")
		.with_protocol_id("membria-local")
		.with_chain_type(ChainType::Local)
		.with_genesis_config_preset_name(LOCAL_TESTNET_PRESET)
		.with_properties(token_properties())
		.build())
}

/// Resolves `--chain ID`: a known name, or a path to a chain-spec JSON file.
pub fn load(id: &str) -> Result<Box<dyn sc_service::ChainSpec>, String> {
	Ok(match id {
		"dev" => Box::new(development_chain_spec()?),
		"" | "local" => Box::new(local_testnet_chain_spec()?),
		path if std::path::Path::new(path).is_file() => {
			Box::new(ChainSpec::from_json_file(path.into())?)
		},
		unknown => {
			return Err(format!(
				"unknown chain `{unknown}`: expected one of {} or the path of a chain-spec JSON file",
				KNOWN_CHAINS.join(", ")
			))
		},
	})
}
