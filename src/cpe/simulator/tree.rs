//! One device's parameter tree: a shared [`DataModel`] plus the device's own layers.
//!
//! Lookup order: `changes` (what the ACS or the device changed since the factory defaults),
//! then the deleted-object prefixes, then `fixed` (this device's factory values: identity,
//! connection-request URL and credentials, installed firmware), then the shared base.
//! A factory reset clears `changes`, `deleted` and the instance counters.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;

use crate::cpe::datamodel::{DataModel, Node};

#[derive(Debug, Clone)]
pub(crate) struct Tree {
    pub(crate) base: Arc<DataModel>,
    fixed: BTreeMap<String, Node>,
    changes: BTreeMap<String, Node>,
    deleted: Vec<String>,
    next_instance: BTreeMap<String, u32>,
}

fn prefixed<'a>(
    map: &'a BTreeMap<String, Node>,
    prefix: &'a str,
) -> impl Iterator<Item = (&'a str, &'a Node)> {
    map.range::<str, _>((Bound::Included(prefix), Bound::Unbounded))
        .take_while(move |(k, _)| k.starts_with(prefix))
        .map(|(k, v)| (k.as_str(), v))
}

impl Tree {
    pub(crate) fn new(base: Arc<DataModel>) -> Tree {
        Tree {
            base,
            fixed: BTreeMap::new(),
            changes: BTreeMap::new(),
            deleted: Vec::new(),
            next_instance: BTreeMap::new(),
        }
    }

    pub(crate) fn root(&self) -> &'static str {
        self.base.root()
    }

    fn is_deleted(&self, name: &str) -> bool {
        self.deleted.iter().any(|d| name.starts_with(d.as_str()))
    }

    pub(crate) fn get(&self, name: &str) -> Option<&Node> {
        if let Some(n) = self.changes.get(name) {
            return Some(n);
        }
        if self.is_deleted(name) {
            return None;
        }
        self.fixed.get(name).or_else(|| self.base.get(name))
    }

    pub(crate) fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Every visible entry under `prefix` (`""` = all), in name order.
    pub(crate) fn prefixed(&self, prefix: &str) -> Vec<(String, Node)> {
        let mut merged: BTreeMap<&str, &Node> = BTreeMap::new();
        for (k, v) in self.base.prefixed(prefix) {
            merged.insert(k, v);
        }
        for (k, v) in prefixed(&self.fixed, prefix) {
            merged.insert(k, v);
        }
        if !self.deleted.is_empty() {
            merged.retain(|k, _| !self.is_deleted(k));
        }
        for (k, v) in prefixed(&self.changes, prefix) {
            merged.insert(k, v);
        }
        merged
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    /// Sets a value (keeping type and writability), in the changes layer.
    pub(crate) fn set_value(&mut self, name: &str, value: &str) -> bool {
        let Some(node) = self.get(name) else {
            return false;
        };
        let mut node = node.clone();
        node.value = value.into();
        self.changes.insert(name.to_string(), node);
        true
    }

    /// Sets a factory value of this device (survives a factory reset); creates the parameter
    /// when missing. A change of the same parameter is dropped.
    pub(crate) fn set_fixed(&mut self, name: &str, node: Node) {
        self.changes.remove(name);
        self.fixed.insert(name.to_string(), node);
    }

    /// Changes writability in every layer holding `name`.
    pub(crate) fn set_writable(&mut self, name: &str, writable: bool) -> bool {
        let Some(node) = self.get(name) else {
            return false;
        };
        let mut fixed = self
            .fixed
            .get(name)
            .or_else(|| self.base.get(name))
            .cloned()
            .unwrap_or_else(|| node.clone());
        fixed.writable = writable;
        self.fixed.insert(name.to_string(), fixed);
        if let Some(c) = self.changes.get_mut(name) {
            c.writable = writable;
        }
        true
    }

    pub(crate) fn factory_reset(&mut self) {
        self.changes.clear();
        self.deleted.clear();
        self.next_instance.clear();
    }

    /// Whether `table` (ending with `.`) holds numbered instances or is a writable object.
    fn instance_numbers(&self, table: &str) -> Vec<u32> {
        let mut v: Vec<u32> = self
            .prefixed(table)
            .into_iter()
            .filter_map(|(k, _)| {
                let rest = &k[table.len()..];
                let seg = rest.strip_suffix('.')?;
                if seg.contains('.') {
                    return None;
                }
                seg.parse::<u32>().ok()
            })
            .collect();
        v.sort_unstable();
        v
    }

    /// AddObject: a new instance of `table` (which must end with `.`), shaped like its lowest
    /// existing instance (values defaulted, nested instances left out). Returns the number.
    pub(crate) fn add_instance(&mut self, table: &str) -> u32 {
        let existing = self.instance_numbers(table);
        let counter = self.next_instance.get(table).copied().unwrap_or(0);
        let n = existing.last().copied().unwrap_or(0).max(counter) + 1;
        self.next_instance.insert(table.to_string(), n);
        let prefix = format!("{table}{n}.");
        self.deleted.retain(|d| !d.starts_with(&prefix));
        let mut new_entries = vec![(prefix.clone(), Node::object(true))];
        if let Some(first) = existing.first() {
            let template = format!("{table}{first}.");
            for (k, v) in self.prefixed(&template) {
                let rel = &k[template.len()..];
                if rel.is_empty() {
                    continue;
                }
                // Nested multi-instance tables start empty.
                let nested_instance = rel
                    .trim_end_matches('.')
                    .split('.')
                    .any(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()));
                if nested_instance {
                    continue;
                }
                let node = if rel.ends_with('.') {
                    v.clone()
                } else {
                    Node::param(v.xsd_type.default_value(), v.xsd_type.clone(), v.writable)
                };
                new_entries.push((format!("{prefix}{rel}"), node));
            }
        }
        for (k, v) in new_entries {
            self.changes.insert(k, v);
        }
        n
    }

    /// DeleteObject of an instance (ending with `.`).
    pub(crate) fn delete_instance(&mut self, instance: &str) {
        let keys: Vec<String> = prefixed(&self.changes, instance)
            .map(|(k, _)| k.to_string())
            .collect();
        for k in keys {
            self.changes.remove(&k);
        }
        let trimmed = instance.trim_end_matches('.');
        if let Some((table, num)) = trimmed.rsplit_once('.')
            && let Ok(n) = num.parse::<u32>()
        {
            let table = format!("{table}.");
            let c = self.next_instance.entry(table).or_insert(0);
            *c = (*c).max(n);
        }
        let covered_below = self.base.prefixed(instance).next().is_some()
            || prefixed(&self.fixed, instance).next().is_some();
        if covered_below && !self.is_deleted(instance) {
            self.deleted.push(instance.to_string());
        }
    }

    /// How many entries this device keeps of its own (for memory checks).
    pub(crate) fn own_entries(&self) -> usize {
        self.fixed.len() + self.changes.len() + self.deleted.len() + self.next_instance.len()
    }
}
