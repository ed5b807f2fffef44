//! A set of one entity's columns — the ones a query asked for — and where each of them sits in
//! a row that selected exactly those columns in declaration order.

use std::hash::{Hash, Hasher};
use std::marker::PhantomData;

use sea_orm::{ColumnTrait, Iterable};

/// A column enum whose variants number from 0 in declaration order (checked by the tests of
/// each implementation's decoder).
pub trait Numbered: ColumnTrait + Iterable + Copy {
    fn number(self) -> u32;
}

macro_rules! numbered {
    ($($column:ty),*) => {$(
        impl Numbered for $column {
            fn number(self) -> u32 {
                self as u32
            }
        }
    )*};
}
numbered!(
    entity::deal::Column,
    entity::stage::Column,
    entity::user::Column,
    entity::contact::Column,
    entity::meeting::Column
);

/// Some columns of an entity (at most 64: every table here has fewer).
pub struct Columns<C> {
    bits: u64,
    of: PhantomData<fn() -> C>,
}

impl<C: Numbered> Columns<C> {
    pub fn none() -> Self {
        Self { bits: 0, of: PhantomData }
    }

    pub fn all() -> Self {
        C::iter().fold(Self::none(), Self::with)
    }

    pub fn of(columns: &[C]) -> Self {
        columns.iter().copied().fold(Self::none(), Self::with)
    }

    pub fn with(self, column: C) -> Self {
        Self { bits: self.bits | 1 << column.number(), of: PhantomData }
    }

    pub fn union(self, other: Self) -> Self {
        Self { bits: self.bits | other.bits, of: PhantomData }
    }

    pub fn contains(&self, column: C) -> bool {
        self.bits & 1 << column.number() != 0
    }

    pub fn is_all(&self) -> bool {
        *self == Self::all()
    }

    pub fn len(&self) -> usize {
        self.bits.count_ones() as usize
    }

    pub fn is_empty(&self) -> bool {
        self.bits == 0
    }

    /// The columns in declaration order: the order a statement selects them in.
    pub fn iter(self) -> impl Iterator<Item = C> {
        C::iter().filter(move |c| self.contains(*c))
    }

    /// Where `column` is in a row whose columns of this set start at `base`; `None` when the
    /// set does not hold it.
    pub fn at(&self, column: C, base: usize) -> Option<usize> {
        let below = self.bits & ((1u64 << column.number()) - 1);
        self.contains(column).then(|| base + below.count_ones() as usize)
    }
}

// By hand: derives would demand the same of the column enum.
impl<C> Clone for Columns<C> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<C> Copy for Columns<C> {}
impl<C> PartialEq for Columns<C> {
    fn eq(&self, other: &Self) -> bool {
        self.bits == other.bits
    }
}
impl<C> Eq for Columns<C> {}
impl<C> Hash for Columns<C> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.bits.hash(state);
    }
}
impl<C> std::fmt::Debug for Columns<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Columns({:#b})", self.bits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use entity::deal::Column as C;

    #[test]
    fn positions_count_the_selected_columns_before() {
        let set = Columns::of(&[C::Title, C::Id, C::Status]);
        assert_eq!(set.len(), 3);
        assert_eq!(set.iter().map(|c| c as u32).collect::<Vec<_>>(), [C::Id, C::Title, C::Status].map(|c| c as u32));
        assert_eq!(set.at(C::Id, 4), Some(4));
        assert_eq!(set.at(C::Title, 4), Some(5));
        assert_eq!(set.at(C::Status, 4), Some(6));
        assert_eq!(set.at(C::Amount, 4), None);
        assert!(Columns::<C>::all().is_all() && !set.is_all());
        assert_eq!(Columns::<C>::all().len(), C::iter().count());
    }

    #[test]
    fn columns_number_in_declaration_order() {
        fn check<C: Numbered>() {
            assert!(C::iter().enumerate().all(|(i, c)| c.number() as usize == i));
        }
        check::<entity::deal::Column>();
        check::<entity::stage::Column>();
        check::<entity::user::Column>();
        check::<entity::contact::Column>();
        check::<entity::meeting::Column>();
    }
}
