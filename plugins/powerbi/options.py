"""What a Power BI sink is configured with: the Entra app, the workspace and the dataset."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator

from sdk import Destination, Sink

from .limits import MAX_PENDING_POSTS, MAX_ROWS_PER_POST, TABLE_NAME

__all__ = ["API_HOSTS", "AUTHORITY_HOSTS", "PowerBICredentials", "PowerBIOptions"]

# The public cloud and the national clouds (US Government, China) Power BI runs in.
API_HOSTS = (
    "api.powerbi.com",
    "api.powerbigov.us",
    "api.high.powerbigov.us",
    "api.mil.powerbigov.us",
    "api.powerbi.cn",
)
AUTHORITY_HOSTS = ("login.microsoftonline.com", "login.microsoftonline.us", "login.chinacloudapi.cn")


class PowerBIOptions(Sink.Options):
    """A push dataset in a workspace (service principals cannot use "My workspace")."""

    tenant: str = Field(min_length=1, description="Microsoft Entra tenant id or domain")
    workspace_id: str = Field(min_length=1, description="the workspace (group) id the dataset lives in")
    dataset: str = Field(default="kpihub", min_length=1, max_length=100, description="push dataset name")
    retention: Literal["None", "basicFIFO"] = Field(
        default="None", description="basicFIFO keeps only the newest 200,000 rows of each table"
    )
    measures: bool = Field(default=True, description="add DAX measures (ratio of sums, attainment)")
    rows_per_post: int = Field(default=MAX_ROWS_PER_POST, ge=1, le=MAX_ROWS_PER_POST)
    max_pending: int = Field(default=MAX_PENDING_POSTS, ge=1, le=MAX_PENDING_POSTS)
    authority_host: Annotated[str, Destination("url", hosts=AUTHORITY_HOSTS)] = Field(
        default="https://login.microsoftonline.com"
    )
    api_url: Annotated[str, Destination("url", hosts=API_HOSTS)] = Field(default="https://api.powerbi.com")
    identity_url: Annotated[str | None, Destination("url", hosts=AUTHORITY_HOSTS)] = Field(
        default=None, description="send the identity requests here instead (a local fake Entra endpoint)"
    )
    time_scale: float = Field(
        default=1.0, gt=0, le=100_000, description="simulators only: how much faster their clock runs"
    )

    @field_validator("dataset")
    @classmethod
    def _dataset_name(cls, value: str) -> str:
        if not TABLE_NAME.search(value):
            raise ValueError("use letters, digits, spaces and - _ # @ ^ ~ only (1-100 characters)")
        return value


class PowerBICredentials(Sink.Credentials):
    """A Microsoft Entra app registration (service principal) with a client secret."""

    documentation = (
        "Entra admin center > App registrations: the application (client) id and a client secret; "
        "a Power BI admin allows service principals, and the app is a Member of the workspace"
    )

    client_id: str = Field(min_length=1)
    client_secret: SecretStr
