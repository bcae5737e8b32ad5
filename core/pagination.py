from typing import Any

from django.core.paginator import Paginator
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import PageNumberPagination as BasePageNumberPagination
from rest_framework.request import Request


class PageNumberPagination(BasePageNumberPagination):
    """``{"count", "next", "previous", "results"}`` with ``page`` and ``page_size`` (1 to 1000).

    A ``page_size`` that is not a whole number in that range is a 400 (DRF would quietly use
    the default) and a ``page`` that is not a number a 404 (DRF reads an empty one as 1), so
    what the schema promises is what the server accepts.
    """

    page_size_query_param = "page_size"
    max_page_size = 1000

    def get_page_size(self, request: Request) -> int | None:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= self.max_page_size:
            raise ValidationError({"page_size": f"Must be a whole number from 1 to {self.max_page_size}."})
        return int(raw)

    def get_page_number(self, request: Request, paginator: Paginator) -> int | str:  # type: ignore[type-arg]
        raw = request.query_params.get(self.page_query_param)
        if raw is not None and raw not in self.last_page_strings and not (raw.isascii() and raw.isdigit()):
            raise NotFound(f"Invalid page {raw[:20]!r}: pages are numbered from 1.")  # DRF reads '' as page 1
        number: int | str = super().get_page_number(request, paginator)
        return number

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1}
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": self.max_page_size}
        return parameters
