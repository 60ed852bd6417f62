use chrono::NaiveDateTime;

/// A half-open span of time `[start, end)` in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Interval {
    pub start: NaiveDateTime,
    pub end: NaiveDateTime,
}

impl Interval {
    pub fn new(start: NaiveDateTime, end: NaiveDateTime) -> Option<Self> {
        (start < end).then_some(Self { start, end })
    }

    pub fn seconds(&self) -> i64 {
        (self.end - self.start).num_seconds()
    }

    pub fn clip(&self, to: &Interval) -> Option<Interval> {
        Interval::new(self.start.max(to.start), self.end.min(to.end))
    }

    /// The parts of `self` not covered by any of `others`.
    pub fn minus(&self, others: &[Interval]) -> Vec<Interval> {
        let mut covered: Vec<Interval> = others.iter().filter_map(|o| o.clip(self)).collect();
        covered.sort();
        let mut out = Vec::new();
        let mut cursor = self.start;
        for c in covered {
            if c.start > cursor {
                out.push(Interval {
                    start: cursor,
                    end: c.start,
                });
            }
            cursor = cursor.max(c.end);
        }
        if cursor < self.end {
            out.push(Interval {
                start: cursor,
                end: self.end,
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(h: u32, m: u32) -> NaiveDateTime {
        chrono::NaiveDate::from_ymd_opt(2026, 5, 1)
            .unwrap()
            .and_hms_opt(h, m, 0)
            .unwrap()
    }

    #[test]
    fn clip_and_minus() {
        let a = Interval::new(t(9, 0), t(12, 0)).unwrap();
        assert_eq!(
            a.clip(&Interval::new(t(10, 0), t(13, 0)).unwrap())
                .unwrap()
                .seconds(),
            7200
        );
        assert!(
            a.clip(&Interval::new(t(12, 0), t(13, 0)).unwrap())
                .is_none()
        );
        let holes = a.minus(&[
            Interval::new(t(9, 30), t(10, 0)).unwrap(),
            Interval::new(t(9, 45), t(10, 30)).unwrap(),
        ]);
        assert_eq!(
            holes,
            vec![
                Interval::new(t(9, 0), t(9, 30)).unwrap(),
                Interval::new(t(10, 30), t(12, 0)).unwrap()
            ]
        );
        assert_eq!(a.minus(&[a]), vec![]);
        assert!(Interval::new(t(9, 0), t(9, 0)).is_none());
    }
}
