"""Joint KPIs: goals both teams own, check-ins, the board in the joint channel, celebrations."""
