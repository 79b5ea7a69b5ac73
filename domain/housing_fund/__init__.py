"""Housing provident fund (住房公积金): accounts across cities, withdrawals with a face scan, payouts never made twice."""
