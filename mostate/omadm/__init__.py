"""The OMA-DM binding: DM tree URIs, node properties, ACLs and SyncML DM packages.

Protocol types stay in this package; the engine never sees XML. A device client calls
:meth:`Device.process` (or :func:`process`) with a server package; a DM server builds packages
with :class:`Server` and reads the device's answers with :meth:`Server.read`.
"""

from .acl import Acl as Acl
from .acl import AclError as AclError
from .acl import AclTable as AclTable
from .codec import PackageError as PackageError
from .codec import parse_package as parse_package
from .device import Answer as Answer
from .device import Device as Device
from .device import Prompt as Prompt
from .device import Ui as Ui
from .device import answering as answering
from .device import process as process
from .messages import Add as Add
from .messages import Alert as Alert
from .messages import Atomic as Atomic
from .messages import Code as Code
from .messages import Copy as Copy
from .messages import Delete as Delete
from .messages import Exec as Exec
from .messages import Get as Get
from .messages import Item as Item
from .messages import Meta as Meta
from .messages import Package as Package
from .messages import Replace as Replace
from .messages import Results as Results
from .messages import Sequence as Sequence
from .messages import Status as Status
from .messages import SyncHdr as SyncHdr
from .server import Report as Report
from .server import Sent as Sent
from .server import Server as Server
from .tree import FlagBinding as FlagBinding
from .tree import ServiceRoot as ServiceRoot
from .tree import TreeConfig as TreeConfig
from .tree import UriError as UriError
from .writer import write_package as write_package
from .writer import write_wbxml as write_wbxml

__all__ = [
    "Acl",
    "AclError",
    "AclTable",
    "Add",
    "Alert",
    "Answer",
    "Atomic",
    "Code",
    "Copy",
    "Delete",
    "Device",
    "Exec",
    "FlagBinding",
    "Get",
    "Item",
    "Meta",
    "Package",
    "PackageError",
    "Prompt",
    "Replace",
    "Report",
    "Results",
    "Sent",
    "Sequence",
    "Server",
    "ServiceRoot",
    "Status",
    "SyncHdr",
    "TreeConfig",
    "Ui",
    "UriError",
    "answering",
    "parse_package",
    "process",
    "write_package",
    "write_wbxml",
]
