//! Look-ahead: the columns the fields selected under a field read, from each type's table of
//! field → columns.

use async_graphql::SelectionField;

use crate::service::columns::{Columns, Numbered};

/// The columns `read` names for the fields selected under `field` (fragments included); a
/// field `read` does not know (`None`) reads every column, so a new field is correct before
/// it is fast.
pub fn columns_read<C: Numbered>(field: SelectionField<'_>, read: fn(&str) -> Option<&'static [C]>) -> Columns<C> {
    let mut columns = Columns::none();
    for selected in field.selection_set() {
        match read(selected.name()) {
            Some(more) => columns = columns.union(Columns::of(more)),
            None => return Columns::all(),
        }
    }
    columns
}
