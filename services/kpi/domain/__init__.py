"""kpi's pure core: the per-case fold (``cases``), a case's history on both time axes
(``timeline``), the two time axes of a question (``asof``), what counts mean
(``metrics``) and the SLA policy (``sla``).  No I/O, time passed in."""
