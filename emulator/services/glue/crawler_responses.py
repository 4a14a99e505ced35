"""Glue crawler operations on the wire: read the request members, call the crawlers, shape the output.

Mixed into :class:`~emulator.services.glue.responses.GlueResponses` (one method per operation, in
snake_case, as :class:`emulator.core.awsjson.JsonDispatcher` calls them); :data:`CRAWLER_OPERATIONS`
joins the edge's routing table. Shapes: https://docs.aws.amazon.com/glue/latest/webapi/API_CreateCrawler.html.
"""

from __future__ import annotations

import functools
from typing import Any

import boto3
from botocore.config import Config

from emulator.core.credentials import internal_key
from emulator.runners.s3io import s3_client
from emulator.services.glue.crawlers import CrawlerBackend

CRAWLER_OPERATIONS = frozenset({"CreateCrawler", "GetCrawler", "GetCrawlers", "ListCrawlers", "StartCrawler",
                                "StopCrawler", "DeleteCrawler"})
_DEFAULT_PAGE = 100


def catalog_client(endpoint_url: str, region: str) -> Any:
    """A Glue client on the edge: the catalog operations it makes are moto's."""
    key = internal_key()
    return boto3.client("glue", endpoint_url=endpoint_url, region_name=region, aws_access_key_id=key.access_key_id,
                        aws_secret_access_key=key.secret_access_key, config=Config(retries={"max_attempts": 3}))


class CrawlerResponses:
    """The crawler operations; expects ``self.backend`` (the Glue backend, whose runs know the edge)."""

    backend: Any

    @functools.cached_property
    def crawlers(self) -> CrawlerBackend:
        endpoint = self.backend.runs.settings.endpoint_url
        return CrawlerBackend(lambda region: s3_client(endpoint, region),
                              lambda region: catalog_client(endpoint, region))

    def create_crawler(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        self.crawlers.create(region, params)
        return {}

    def get_crawler(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        return {"Crawler": self.crawlers.get(region, params["Name"])}

    def get_crawlers(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        names, token = self.crawlers.page(region, params.get("MaxResults", _DEFAULT_PAGE), params.get("NextToken"))
        out: dict[str, Any] = {"Crawlers": [self.crawlers.get(region, name) for name in names]}
        if token:
            out["NextToken"] = token
        return out

    def list_crawlers(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        names, token = self.crawlers.page(region, params.get("MaxResults", _DEFAULT_PAGE), params.get("NextToken"))
        return {"CrawlerNames": names, **({"NextToken": token} if token else {})}

    def start_crawler(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        self.crawlers.start(region, params["Name"])
        return {}

    def stop_crawler(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        self.crawlers.stop(region, params["Name"])
        return {}

    def delete_crawler(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        self.crawlers.delete(region, params["Name"])
        return {}
