"""Apache Airflow provider for Alibaba Cloud PAI: DataWorks-scheduled PAI Designer runs, OSS, PAI-EAS."""

__version__ = "0.1.0"
