"""Behaviour shared across layers: the connection and hook (``hook``), the DataWorks wait (``dataworks``)."""
