//! What authentication keeps in memory (see `timebank_store::memo`): who
//! each signed-in user is, by user id.

use timebank_directory::identity::Identity;
use timebank_store::generation::IDENTITIES;
use timebank_store::memo::Memo;

pub struct Memos {
    pub identities: Memo<Identity>,
}

impl Default for Memos {
    fn default() -> Self {
        Self {
            identities: Memo::new(&IDENTITIES),
        }
    }
}
