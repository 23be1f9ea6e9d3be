"""The eight datasets, each a pure function of (tenant, month) over the source database."""

from export_platform.datasets.accounts import ACCOUNTS
from export_platform.datasets.audit_log import AUDIT_LOG
from export_platform.datasets.bills import BILLS
from export_platform.datasets.customers import CUSTOMERS
from export_platform.datasets.inventory import INVENTORY
from export_platform.datasets.invoices import INVOICES
from export_platform.datasets.sale_items import SALE_ITEMS
from export_platform.datasets.sales import SALES
from export_platform.datasets.spec import DatasetSpec

DATASETS: tuple[DatasetSpec, ...] = (
    SALES,
    SALE_ITEMS,
    CUSTOMERS,
    INVENTORY,
    AUDIT_LOG,
    BILLS,
    ACCOUNTS,
    INVOICES,
)
DATASETS_BY_NAME = {spec.name: spec for spec in DATASETS}
