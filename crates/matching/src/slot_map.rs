//! A hash map from keys to lists of invoice slots, compact for the common case of one slot per
//! key.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::Hash;

/// Position of an invoice in the index. Below [`MAX_SLOTS`].
pub(crate) type Slot = u32;

/// Maximum number of invoices in one index. The top bit of a table value marks a shared list.
pub(crate) const MAX_SLOTS: usize = 1 << 31;

const SHARED: u32 = 1 << 31;

/// Maps each key to the slots stored under it, in insertion order.
///
/// A key with one slot stores the slot itself as the table value, so a lookup touches only the
/// table. A key with more slots stores `SHARED | n`, where `n` is a position in `shared`.
#[derive(Debug, Clone)]
pub(crate) struct SlotMap<K> {
    table: HashMap<K, u32>,
    shared: Vec<Vec<Slot>>,
    /// Positions in `shared` whose list is empty and can be reused.
    free_shared: Vec<u32>,
}

impl<K> Default for SlotMap<K> {
    fn default() -> Self {
        Self {
            table: HashMap::default(),
            shared: Vec::new(),
            free_shared: Vec::new(),
        }
    }
}

impl<K: Hash + Eq> SlotMap<K> {
    /// Returns the slots under `key`, empty when there are none.
    pub(crate) fn get<Q>(&self, key: &Q) -> &[Slot]
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        match self.table.get(key) {
            None => &[],
            Some(value) if value & SHARED == 0 => std::slice::from_ref(value),
            Some(value) => &self.shared[(value & !SHARED) as usize],
        }
    }

    /// Adds `slot` after the slots already under `key` and returns all slots under `key`.
    pub(crate) fn insert(&mut self, key: K, slot: Slot) -> &[Slot] {
        debug_assert!(slot & SHARED == 0, "slots are below MAX_SLOTS");
        match self.table.entry(key) {
            Entry::Vacant(vacant) => std::slice::from_ref(vacant.insert(slot)),
            Entry::Occupied(mut occupied) => {
                let value = *occupied.get();
                if value & SHARED != 0 {
                    let slots = &mut self.shared[(value & !SHARED) as usize];
                    slots.push(slot);
                    return slots;
                }
                let position = match self.free_shared.pop() {
                    Some(position) => {
                        self.shared[position as usize].extend([value, slot]);
                        position
                    }
                    None => {
                        self.shared.push(vec![value, slot]);
                        u32::try_from(self.shared.len() - 1).expect("fewer shared lists than slots")
                    }
                };
                *occupied.get_mut() = SHARED | position;
                &self.shared[position as usize]
            }
        }
    }

    /// Removes `slot` from the slots under `key`, and the key once no slot is left. Returns the
    /// slots left under `key`.
    pub(crate) fn remove<Q>(&mut self, key: &Q, slot: Slot) -> &[Slot]
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let Some(value) = self.table.get(key).copied() else {
            return &[];
        };
        if value & SHARED == 0 {
            if value == slot {
                self.table.remove(key);
                return &[];
            }
            return self.get(key);
        }

        let position = value & !SHARED;
        let slots = &mut self.shared[position as usize];
        slots.retain(|&other| other != slot);
        if let [only] = *slots.as_slice() {
            // Back to a single slot, stored in the table again.
            slots.clear();
            self.free_shared.push(position);
            let value = self.table.get_mut(key).expect("the key was found above");
            *value = only;
            return std::slice::from_ref(value);
        }
        slots
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_and_shared_slots() {
        let mut map = SlotMap::<&str>::default();
        assert_eq!(map.insert("a", 1), &[1]);
        assert_eq!(map.get("a"), &[1]);

        assert_eq!(map.insert("a", 2), &[1, 2]);
        assert_eq!(map.insert("a", 3), &[1, 2, 3]);
        assert_eq!(map.get("a"), &[1, 2, 3]);

        assert_eq!(map.remove("a", 2), &[1, 3]);
        assert_eq!(map.remove("a", 1), &[3]);
        assert_eq!(map.get("a"), &[3]);
        assert_eq!(map.remove("a", 9), &[3]);
        assert!(map.remove("a", 3).is_empty());
        assert!(map.get("a").is_empty());
        assert!(map.table.is_empty());
    }

    #[test]
    fn shared_lists_are_reused() {
        let mut map = SlotMap::<&str>::default();
        map.insert("a", 1);
        map.insert("a", 2);
        map.remove("a", 1);
        map.insert("b", 3);
        map.insert("b", 4);

        assert_eq!(map.shared.len(), 1);
        assert_eq!(map.get("a"), &[2]);
        assert_eq!(map.get("b"), &[3, 4]);
        assert!(map.get("c").is_empty());
    }
}
