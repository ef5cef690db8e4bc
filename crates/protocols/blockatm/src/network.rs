//! Networks and tokens of spec 5.9 (sandbox defaults, configurable) and address validation.

use crate::wire::{NetworkDetail, NetworkInfo, TokenInfo};
use polypay_engine::chain::AddressKind;
pub use polypay_engine::chain::{is_evm_address, is_tron_address};
use std::collections::BTreeMap;

/// How addresses on a chain are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressType {
    /// `0x` + 40 hex digits, any case.
    Evm,
    /// Base58check, 34 characters, `T…` (version byte 0x41).
    Tron,
}

impl AddressType {
    /// The engine's name for it (sandbox addresses are made there).
    pub fn kind(self) -> AddressKind {
        match self {
            AddressType::Evm => AddressKind::Evm,
            AddressType::Tron => AddressKind::Tron,
        }
    }

    /// The `addressType` text of E8.
    pub fn as_str(self) -> &'static str {
        match self {
            AddressType::Evm => "EVM",
            AddressType::Tron => "TRON",
        }
    }

    /// Whether `address` is well formed for this chain family.
    pub fn is_valid(self, address: &str) -> bool {
        match self {
            AddressType::Evm => is_evm_address(address),
            AddressType::Tron => is_tron_address(address),
        }
    }
}

/// A token contract on one network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// Upper case (`USDT`, `USDC`).
    pub symbol: String,
    pub token_address: String,
    /// On-chain decimals (informational; API amounts always use 6).
    pub decimals: u32,
}

/// One supported chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Network {
    /// `chainId` as the API writes it (`0x2b6653dc`, `1`, `11155111`).
    pub chain_id: String,
    /// The `network` value of orders and webhooks (`TRON`, `Ethereum`).
    pub name: String,
    /// The short code also accepted as a `chainId` input (`ETH`, `SEPOLIA`).
    pub code: String,
    pub address_type: AddressType,
    pub test_net: bool,
    pub confirm: u32,
    pub explorer: String,
    pub tokens: Vec<Token>,
}

impl Network {
    /// The token `symbol` (case-insensitive) on this network.
    pub fn token(&self, symbol: &str) -> Option<&Token> {
        self.tokens
            .iter()
            .find(|t| t.symbol.eq_ignore_ascii_case(symbol))
    }

    /// This network as an E8 list item.
    pub fn info(&self) -> NetworkInfo {
        NetworkInfo {
            address_type: self.address_type.as_str().to_owned(),
            chain_id: self.chain_id.clone(),
            confirm: self.confirm,
            explorer: self.explorer.clone(),
            name: self.name.clone(),
            network: self.code.clone(),
            test_net: self.test_net,
        }
    }
}

/// The configured networks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkTable {
    pub networks: Vec<Network>,
}

impl Default for NetworkTable {
    fn default() -> Self {
        NetworkTable::sandbox()
    }
}

impl NetworkTable {
    /// The sandbox defaults of 5.9.
    pub fn sandbox() -> NetworkTable {
        use AddressType::{Evm, Tron};
        let rows = [
            (
                "0x2b6653dc",
                "TRON",
                "TRON",
                Tron,
                false,
                20,
                "https://tronscan.org",
                6,
                "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t",
                "TEkxiTehnzSmSe2XqrBj4w32RUN966rdz8",
            ),
            (
                "1",
                "Ethereum",
                "ETH",
                Evm,
                false,
                12,
                "https://etherscan.io",
                6,
                "0xdac17f958d2ee523a2206206994597c13d831ec7",
                "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48",
            ),
            (
                "56",
                "BSC",
                "BSC",
                Evm,
                false,
                15,
                "https://bscscan.com",
                18,
                "0x55d398326f99059ff775485246999027b3197955",
                "0x8ac76a51cc950d9822d68b83fe1ad97b32cd580d",
            ),
            (
                "137",
                "Polygon",
                "POLYGON",
                Evm,
                false,
                64,
                "https://polygonscan.com",
                6,
                "0xc2132d05d31c914a87c6611c10748aeb04b58e8f",
                "0x3c499c542cef5e3811e1192ce70d8cc03d5c3359",
            ),
            (
                "11155111",
                "Sepolia",
                "SEPOLIA",
                Evm,
                true,
                3,
                "https://sepolia.etherscan.io",
                6,
                "0x4c664772af8a6a347deab0f2c7767553a66f6100",
                "0x1c7d4b196cb0c7b01d743fbc6116a902379c7238",
            ),
        ];
        let networks = rows
            .into_iter()
            .map(
                |(id, name, code, kind, test, confirm, explorer, decimals, usdt, usdc)| Network {
                    chain_id: id.into(),
                    name: name.into(),
                    code: code.into(),
                    address_type: kind,
                    test_net: test,
                    confirm,
                    explorer: explorer.into(),
                    tokens: [("USDT", usdt), ("USDC", usdc)]
                        .into_iter()
                        .map(|(symbol, address)| Token {
                            symbol: symbol.into(),
                            token_address: address.into(),
                            decimals,
                        })
                        .collect(),
                },
            )
            .collect();
        NetworkTable { networks }
    }

    /// Resolves a `chainId` input: an exact chain id, or a network code case-insensitively.
    pub fn resolve(&self, chain: &str) -> Option<&Network> {
        self.networks
            .iter()
            .find(|n| n.chain_id == chain)
            .or_else(|| {
                self.networks
                    .iter()
                    .find(|n| n.code.eq_ignore_ascii_case(chain))
            })
    }

    /// The network whose `chainId` is `chain_id` exactly (output side).
    pub fn by_chain_id(&self, chain_id: &str) -> Option<&Network> {
        self.networks.iter().find(|n| n.chain_id == chain_id)
    }

    /// The E7 list, filtered by resolved chain and symbol (either may be absent).
    pub fn symbol_list(&self, chain: Option<&Network>, symbol: Option<&str>) -> Vec<TokenInfo> {
        let chain_ok = |n: &Network| chain.is_none_or(|c| c.chain_id == n.chain_id);
        let symbol_ok = |t: &Token| symbol.is_none_or(|s| t.symbol.eq_ignore_ascii_case(s));
        self.networks
            .iter()
            .filter(|n| chain_ok(n))
            .flat_map(|n| {
                n.tokens
                    .iter()
                    .filter(|t| symbol_ok(t))
                    .map(move |t| (n, t))
            })
            .map(|(n, t)| TokenInfo {
                chain_id: n.chain_id.clone(),
                decimals: t.decimals,
                network: n.name.clone(),
                symbol: t.symbol.clone(),
                token_address: t.token_address.clone(),
            })
            .collect()
    }

    /// The E8 list.
    pub fn all_networks(&self) -> Vec<NetworkInfo> {
        self.networks.iter().map(Network::info).collect()
    }

    /// E6 `networkDetail`: every configured chain with its symbols joined by `,`.
    pub fn network_detail(&self) -> BTreeMap<String, NetworkDetail> {
        self.networks
            .iter()
            .map(|n| {
                let symbols: Vec<&str> = n.tokens.iter().map(|t| t.symbol.as_str()).collect();
                let detail = NetworkDetail {
                    chain_id: n.chain_id.clone(),
                    currency: symbols.join(","),
                    network: n.name.clone(),
                };
                (n.chain_id.clone(), detail)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_ids_and_codes() {
        let table = NetworkTable::sandbox();
        assert_eq!(
            table.resolve("11155111").map(|n| n.name.as_str()),
            Some("Sepolia")
        );
        assert_eq!(table.resolve("eth").map(|n| n.chain_id.as_str()), Some("1"));
        assert_eq!(
            table.resolve("0x2b6653dc").map(|n| n.code.as_str()),
            Some("TRON")
        );
        assert!(table.resolve("5").is_none());
        let tron = table.resolve("TRON").unwrap();
        assert_eq!(table.symbol_list(Some(tron), Some("usdc")).len(), 1);
        assert_eq!(table.symbol_list(None, None).len(), 10);
        assert_eq!(table.all_networks().len(), 5);
        let detail = table.network_detail();
        assert_eq!(detail["0x2b6653dc"].currency, "USDT,USDC");
        assert_eq!(detail["11155111"].network, "Sepolia");
    }
}
