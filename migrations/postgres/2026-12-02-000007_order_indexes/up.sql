-- Each index is written by every order. A volunteer's quarterly limit is
-- summed over their orders through orders_volunteer_idx, and stock is only
-- ever summed over all movements, so these two only cost writes.
DROP INDEX orders_limit_idx;
DROP INDEX stock_movements_level_idx;
