"""``damrong kpi rebuild``: every kpi projection rebuilt from the topic into fresh tables,
then switched over atomically (``usecases``); ``bulk`` is its fast path."""
