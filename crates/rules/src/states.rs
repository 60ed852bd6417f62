//! Every state machine of the domain: its states as stored (snake_case
//! text), the steps that move it, and which step leads from which state to
//! which. Commands ask `after(step)` under the row lock and refuse with
//! `invalid_state` when it is `None`; nothing else compares states.

/// Declares one machine: a state enum (with its stored names), a step enum,
/// and the transition table `step: from | from => to`.
macro_rules! machine {
    (
        $(#[$doc:meta])*
        $state:ident / $step:ident {
            states { $($s:ident = $name:literal),+ $(,)? }
            steps { $($t:ident: $($from:ident)|+ => $to:ident),+ $(,)? }
        }
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $state {
            $($s,)+
        }

        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $step {
            $($t,)+
        }

        impl $state {
            pub const ALL: &'static [$state] = &[$($state::$s,)+];

            pub const fn as_str(self) -> &'static str {
                match self {
                    $($state::$s => $name,)+
                }
            }

            pub fn parse(text: &str) -> Option<Self> {
                match text {
                    $($name => Some($state::$s),)+
                    _ => None,
                }
            }

            /// Where `step` leads from here, if it may be taken here.
            pub fn after(self, step: $step) -> Option<Self> {
                match step {
                    $($step::$t => match self {
                        $($state::$from)|+ => Some($state::$to),
                        #[allow(unreachable_patterns)]
                        _ => None,
                    },)+
                }
            }
        }

        impl $step {
            pub const ALL: &'static [$step] = &[$($step::$t,)+];

            /// Where this step leads.
            pub const fn to(self) -> $state {
                match self {
                    $($step::$t => $state::$to,)+
                }
            }

            /// The states this step may be taken from.
            pub fn from_states(self) -> Vec<$state> {
                $state::ALL.iter().copied().filter(|s| s.after(self).is_some()).collect()
            }

            /// The states this step may be taken from, as a message says it.
            pub fn wanted(self) -> String {
                self.from_states()
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(" or ")
            }
        }

        impl State for $state {
            const ALL: &'static [Self] = $state::ALL;
            fn as_str(self) -> &'static str {
                $state::as_str(self)
            }
            fn parse(text: &str) -> Option<Self> {
                $state::parse(text)
            }
        }

        impl std::fmt::Display for $state {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $state {
            type Err = UnknownState;
            fn from_str(text: &str) -> Result<Self, UnknownState> {
                Self::parse(text).ok_or_else(|| UnknownState {
                    machine: stringify!($state),
                    text: text.to_owned(),
                })
            }
        }

        impl TryFrom<String> for $state {
            type Error = UnknownState;
            fn try_from(text: String) -> Result<Self, UnknownState> {
                text.parse()
            }
        }

        #[cfg(feature = "diesel")]
        crate::states::sql::text_mapping!($state);
    };
}

/// What every machine's state has: its stored names, both ways.
pub trait State: Copy + 'static {
    const ALL: &'static [Self];
    fn as_str(self) -> &'static str;
    fn parse(text: &str) -> Option<Self>;
}

/// A stored state this build does not know: the data is corrupt or newer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownState {
    pub machine: &'static str,
    pub text: String,
}

impl std::fmt::Display for UnknownState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?} is not a {}", self.text, self.machine)
    }
}

impl std::error::Error for UnknownState {}

machine! {
    /// A volunteer's or resident's account as stored. `Suspended` is only
    /// ever shown: a suspension is a period (`suspended_until`) that ends
    /// by itself, not a stored state.
    MemberStatus / MemberStep {
        states { Pending = "pending", Active = "active", Suspended = "suspended" }
        steps { Approve: Pending => Active }
    }
}

machine! {
    /// An activity from its submission to the org's review.
    ActivityStatus / ActivityStep {
        states { PendingReview = "pending_review", Published = "published", Rejected = "rejected" }
        steps {
            Approve: PendingReview => Published,
            Reject: PendingReview => Rejected,
        }
    }
}

machine! {
    /// A volunteer's place in an activity; a cancelled place may be taken again.
    SignupStatus / SignupStep {
        states { SignedUp = "signed_up", Cancelled = "cancelled" }
        steps {
            SignUpAgain: Cancelled => SignedUp,
            Cancel: SignedUp => Cancelled,
        }
    }
}

machine! {
    /// A case award claimed for a volunteer, decided once.
    AwardStatus / AwardStep {
        states { Pending = "pending", Approved = "approved", Rejected = "rejected" }
        steps {
            Approve: Pending => Approved,
            Reject: Pending => Rejected,
        }
    }
}

machine! {
    /// A catalog item: offered until it is retired.
    ItemStatus / ItemStep {
        states { Active = "active", Retired = "retired" }
        steps { Retire: Active => Retired }
    }
}

machine! {
    /// A redemption order: reserved until it is handed out, cancelled or expires.
    OrderStatus / OrderStep {
        states {
            Reserved = "reserved",
            Fulfilled = "fulfilled",
            Cancelled = "cancelled",
            Expired = "expired",
        }
        steps {
            HandOut: Reserved => Fulfilled,
            Cancel: Reserved => Cancelled,
            Expire: Reserved => Expired,
        }
    }
}

machine! {
    /// A family link, asked by one and confirmed by the other.
    LinkStatus / LinkStep {
        states { Pending = "pending", Confirmed = "confirmed" }
        steps { Confirm: Pending => Confirmed }
    }
}

machine! {
    /// A resident's service request, from asking to settlement.
    RequestStatus / RequestStep {
        states {
            Open = "open",
            Dispatched = "dispatched",
            Accepted = "accepted",
            Completed = "completed",
            Disputed = "disputed",
            Rated = "rated",
            Settled = "settled",
            Cancelled = "cancelled",
        }
        steps {
            Dispatch: Open => Dispatched,
            Decline: Dispatched => Open,
            Accept: Dispatched => Accepted,
            Complete: Accepted => Completed,
            Rate: Completed => Rated,
            Dispute: Completed => Disputed,
            Resolve: Disputed => Rated,
            SettleUnrated: Completed => Settled,
            Cancel: Open | Dispatched | Accepted => Cancelled,
        }
    }
}

impl RequestStatus {
    /// Whether the volunteer has reported the service as done.
    pub fn is_done(self) -> bool {
        matches!(
            self,
            RequestStatus::Completed
                | RequestStatus::Disputed
                | RequestStatus::Rated
                | RequestStatus::Settled
        )
    }

    /// Whether its points have been paid out.
    pub fn is_paid(self) -> bool {
        matches!(self, RequestStatus::Rated | RequestStatus::Settled)
    }
}

machine! {
    /// A resident's micro-wish, claimed by a volunteer or an organisation.
    WishStatus / WishStep {
        states {
            Open = "open",
            Claimed = "claimed",
            Fulfilled = "fulfilled",
            Confirmed = "confirmed",
        }
        steps {
            Claim: Open => Claimed,
            Fulfil: Claimed => Fulfilled,
            Confirm: Fulfilled => Confirmed,
        }
    }
}

machine! {
    /// A volunteer team (志愿服务队伍): applied for by a volunteer and
    /// approved by an admin over its org (or created active by one), until
    /// it is dissolved.
    TeamStatus / TeamStep {
        states {
            Pending = "pending",
            Active = "active",
            Rejected = "rejected",
            Dissolved = "dissolved",
        }
        steps {
            Approve: Pending => Active,
            Reject: Pending => Rejected,
            Dissolve: Active => Dissolved,
        }
    }
}

machine! {
    /// A partner unit (共建单位) registered with a community, street or
    /// district: approved by an admin over it, until it withdraws.
    UnitStatus / UnitStep {
        states {
            Pending = "pending",
            Active = "active",
            Rejected = "rejected",
            Withdrawn = "withdrawn",
        }
        steps {
            Approve: Pending => Active,
            Reject: Pending => Rejected,
            Withdraw: Active => Withdrawn,
        }
    }
}

machine! {
    /// An item of one of the three lists (需求 · 资源 · 项目清单): open
    /// until claimed; its owner confirms the claim (the match becomes a
    /// project) or declines it (open again), the claimant may take its claim
    /// back (open again); the owner may withdraw it before it is matched.
    ListItemStatus / ListItemStep {
        states {
            Open = "open",
            Claimed = "claimed",
            Matched = "matched",
            Withdrawn = "withdrawn",
        }
        steps {
            Claim: Open => Claimed,
            Confirm: Claimed => Matched,
            Decline: Claimed => Open,
            Unclaim: Claimed => Open,
            Withdraw: Open | Claimed => Withdrawn,
        }
    }
}

machine! {
    /// A project made of a confirmed match (项目制): planned, run, assessed
    /// and closed (验收), or cancelled before its assessment.
    ProjectStatus / ProjectStep {
        states {
            Planned = "planned",
            Running = "running",
            Assessing = "assessing",
            Closed = "closed",
            Cancelled = "cancelled",
        }
        steps {
            Start: Planned => Running,
            Assess: Running => Assessing,
            Close: Assessing => Closed,
            Cancel: Planned | Running => Cancelled,
        }
    }
}

impl TeamStatus {
    /// Pending or active: its leader leads it.
    pub fn stands(self) -> bool {
        matches!(self, TeamStatus::Pending | TeamStatus::Active)
    }
}

impl UnitStatus {
    /// Pending or active: its admins act for it.
    pub fn stands(self) -> bool {
        matches!(self, UnitStatus::Pending | UnitStatus::Active)
    }
}

#[cfg(feature = "diesel")]
pub(crate) mod sql {
    /// States are stored as their text: they bind as text in filters and
    /// inserts, and load from text (`#[diesel(deserialize_as = String)]`).
    macro_rules! text_mapping {
        ($state:ident) => {
            crate::states::sql::bind_as_text!($state, &$state);

            // Arrays bind as one parameter on Postgres (`= ANY($1)`).
            impl diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg> for $state {
                fn to_sql<'b>(
                    &'b self,
                    out: &mut diesel::serialize::Output<'b, '_, diesel::pg::Pg>,
                ) -> diesel::serialize::Result {
                    <str as diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg>>::to_sql(
                        self.as_str(),
                        out,
                    )
                }
            }

            impl diesel::serialize::ToSql<diesel::sql_types::Text, diesel::sqlite::Sqlite>
                for $state
            {
                fn to_sql<'b>(
                    &'b self,
                    out: &mut diesel::serialize::Output<'b, '_, diesel::sqlite::Sqlite>,
                ) -> diesel::serialize::Result {
                    out.set_value(self.as_str());
                    Ok(diesel::serialize::IsNull::No)
                }
            }
        };
    }
    pub(crate) use text_mapping;

    /// A state (or a reference to one) binds as its stored name.
    macro_rules! bind_as_text {
        ($($ty:ty),+) => {$(
            impl diesel::expression::AsExpression<diesel::sql_types::Text> for $ty {
                type Expression = <&'static str as diesel::expression::AsExpression<
                    diesel::sql_types::Text,
                >>::Expression;
                fn as_expression(self) -> Self::Expression {
                    <&'static str as diesel::expression::AsExpression<
                        diesel::sql_types::Text,
                    >>::as_expression(self.as_str())
                }
            }
        )+};
    }
    pub(crate) use bind_as_text;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    /// Every (state, step) pair, against the table restated here.
    fn check<S, T>(
        all_states: &[S],
        all_steps: &[T],
        after: impl Fn(S, T) -> Option<S>,
        allowed: &[(S, T, S)],
    ) where
        S: Copy + PartialEq + std::fmt::Debug,
        T: Copy + PartialEq + std::fmt::Debug,
    {
        for &s in all_states {
            for &t in all_steps {
                let expected = allowed
                    .iter()
                    .find(|(f, st, _)| *f == s && *st == t)
                    .map(|(_, _, to)| *to);
                assert_eq!(after(s, t), expected, "{s:?} --{t:?}-->");
            }
        }
    }

    #[test]
    fn requests_move_only_as_the_domain_says() {
        use RequestStatus as S;
        use RequestStep as T;
        check(
            S::ALL,
            T::ALL,
            S::after,
            &[
                (S::Open, T::Dispatch, S::Dispatched),
                (S::Dispatched, T::Decline, S::Open),
                (S::Dispatched, T::Accept, S::Accepted),
                (S::Accepted, T::Complete, S::Completed),
                (S::Completed, T::Rate, S::Rated),
                (S::Completed, T::Dispute, S::Disputed),
                (S::Disputed, T::Resolve, S::Rated),
                (S::Completed, T::SettleUnrated, S::Settled),
                (S::Open, T::Cancel, S::Cancelled),
                (S::Dispatched, T::Cancel, S::Cancelled),
                (S::Accepted, T::Cancel, S::Cancelled),
            ],
        );
        assert_eq!(T::Cancel.wanted(), "open or dispatched or accepted");
        for s in S::ALL {
            assert_eq!(s.is_paid(), matches!(s, S::Rated | S::Settled));
        }
    }

    #[test]
    fn orders_wishes_and_the_rest_move_only_as_the_domain_says() {
        use OrderStatus as O;
        check(
            O::ALL,
            OrderStep::ALL,
            O::after,
            &[
                (O::Reserved, OrderStep::HandOut, O::Fulfilled),
                (O::Reserved, OrderStep::Cancel, O::Cancelled),
                (O::Reserved, OrderStep::Expire, O::Expired),
            ],
        );
        use WishStatus as W;
        check(
            W::ALL,
            WishStep::ALL,
            W::after,
            &[
                (W::Open, WishStep::Claim, W::Claimed),
                (W::Claimed, WishStep::Fulfil, W::Fulfilled),
                (W::Fulfilled, WishStep::Confirm, W::Confirmed),
            ],
        );
        use ActivityStatus as A;
        check(
            A::ALL,
            ActivityStep::ALL,
            A::after,
            &[
                (A::PendingReview, ActivityStep::Approve, A::Published),
                (A::PendingReview, ActivityStep::Reject, A::Rejected),
            ],
        );
        use AwardStatus as C;
        check(
            C::ALL,
            AwardStep::ALL,
            C::after,
            &[
                (C::Pending, AwardStep::Approve, C::Approved),
                (C::Pending, AwardStep::Reject, C::Rejected),
            ],
        );
        check(
            SignupStatus::ALL,
            SignupStep::ALL,
            SignupStatus::after,
            &[
                (
                    SignupStatus::Cancelled,
                    SignupStep::SignUpAgain,
                    SignupStatus::SignedUp,
                ),
                (
                    SignupStatus::SignedUp,
                    SignupStep::Cancel,
                    SignupStatus::Cancelled,
                ),
            ],
        );
        check(
            ItemStatus::ALL,
            ItemStep::ALL,
            ItemStatus::after,
            &[(ItemStatus::Active, ItemStep::Retire, ItemStatus::Retired)],
        );
        check(
            LinkStatus::ALL,
            LinkStep::ALL,
            LinkStatus::after,
            &[(
                LinkStatus::Pending,
                LinkStep::Confirm,
                LinkStatus::Confirmed,
            )],
        );
        check(
            MemberStatus::ALL,
            MemberStep::ALL,
            MemberStatus::after,
            &[(
                MemberStatus::Pending,
                MemberStep::Approve,
                MemberStatus::Active,
            )],
        );
    }

    #[test]
    fn teams_units_lists_and_projects_move_only_as_the_domain_says() {
        {
            use TeamStatus as S;
            use TeamStep as T;
            check(
                S::ALL,
                T::ALL,
                S::after,
                &[
                    (S::Pending, T::Approve, S::Active),
                    (S::Pending, T::Reject, S::Rejected),
                    (S::Active, T::Dissolve, S::Dissolved),
                ],
            );
        }
        {
            use UnitStatus as S;
            use UnitStep as T;
            check(
                S::ALL,
                T::ALL,
                S::after,
                &[
                    (S::Pending, T::Approve, S::Active),
                    (S::Pending, T::Reject, S::Rejected),
                    (S::Active, T::Withdraw, S::Withdrawn),
                ],
            );
        }
        {
            use ListItemStatus as S;
            use ListItemStep as T;
            check(
                S::ALL,
                T::ALL,
                S::after,
                &[
                    (S::Open, T::Claim, S::Claimed),
                    (S::Claimed, T::Confirm, S::Matched),
                    (S::Claimed, T::Decline, S::Open),
                    (S::Claimed, T::Unclaim, S::Open),
                    (S::Open, T::Withdraw, S::Withdrawn),
                    (S::Claimed, T::Withdraw, S::Withdrawn),
                ],
            );
        }
        {
            use ProjectStatus as S;
            use ProjectStep as T;
            check(
                S::ALL,
                T::ALL,
                S::after,
                &[
                    (S::Planned, T::Start, S::Running),
                    (S::Running, T::Assess, S::Assessing),
                    (S::Assessing, T::Close, S::Closed),
                    (S::Planned, T::Cancel, S::Cancelled),
                    (S::Running, T::Cancel, S::Cancelled),
                ],
            );
        }
        // What `invalid_state` names as wanted.
        assert_eq!(ListItemStep::Withdraw.wanted(), "open or claimed");
        assert_eq!(ProjectStep::Cancel.wanted(), "planned or running");
    }

    #[test]
    fn stored_names_round_trip_and_are_unique() {
        fn round<S: Copy + PartialEq + std::fmt::Debug>(
            all: &[S],
            name: fn(S) -> &'static str,
            parse: fn(&str) -> Option<S>,
        ) {
            let mut seen = HashSet::new();
            for &s in all {
                assert!(seen.insert(name(s)));
                assert_eq!(parse(name(s)), Some(s));
                assert_eq!(
                    serde_json::to_value(name(s)).ok(),
                    Some(serde_json::Value::String(name(s).to_owned()))
                );
            }
            assert_eq!(parse("no_such_state"), None);
        }
        round(
            RequestStatus::ALL,
            RequestStatus::as_str,
            RequestStatus::parse,
        );
        round(OrderStatus::ALL, OrderStatus::as_str, OrderStatus::parse);
        round(WishStatus::ALL, WishStatus::as_str, WishStatus::parse);
        round(
            ActivityStatus::ALL,
            ActivityStatus::as_str,
            ActivityStatus::parse,
        );
        round(AwardStatus::ALL, AwardStatus::as_str, AwardStatus::parse);
        round(SignupStatus::ALL, SignupStatus::as_str, SignupStatus::parse);
        round(ItemStatus::ALL, ItemStatus::as_str, ItemStatus::parse);
        round(LinkStatus::ALL, LinkStatus::as_str, LinkStatus::parse);
        round(MemberStatus::ALL, MemberStatus::as_str, MemberStatus::parse);
        round(TeamStatus::ALL, TeamStatus::as_str, TeamStatus::parse);
        round(UnitStatus::ALL, UnitStatus::as_str, UnitStatus::parse);
        round(
            ListItemStatus::ALL,
            ListItemStatus::as_str,
            ListItemStatus::parse,
        );
        round(
            ProjectStatus::ALL,
            ProjectStatus::as_str,
            ProjectStatus::parse,
        );
        assert_eq!(
            serde_json::to_value(RequestStatus::Dispatched).ok(),
            Some(serde_json::json!("dispatched"))
        );
        assert_eq!(
            serde_json::to_value(ActivityStatus::PendingReview).ok(),
            Some(serde_json::json!("pending_review"))
        );
    }
}
