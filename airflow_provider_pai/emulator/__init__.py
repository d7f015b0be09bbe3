"""A local Alibaba Cloud (DataWorks, PAI-EAS, OSS, EAS predict) on one loopback port, for tests and demos.

Start it with ``python -m airflow_provider_pai.emulator`` or ``EmulatorProcess`` (``emulator.process``);
pytest users get the ``pai_emulator`` fixture. Nothing here imports Airflow or the rest of the package.
"""
