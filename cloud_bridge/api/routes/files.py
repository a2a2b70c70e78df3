"""`/files`: stations' product files. Upload is resumable (protocol in `cloud_bridge.files.uploads`):
`HEAD /files/{station}/{observation}/{name}` says how many bytes the bridge has, `PUT` with
`Content-Range` and `X-Sha256` sends the next chunk, authenticated by the station's own token (a
station may upload only its own files). `GET` on the same path downloads a stored file (public);
`GET /files` lists them."""

from __future__ import annotations

import mimetypes
import re
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Path, Query, Request, Response, status
from fastapi.responses import StreamingResponse
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from cloud_bridge.api.deps import CurrentUser, DbSession, PageParams, StationFilter, User, paged
from cloud_bridge.api.schemas import FileOut, Listing, UploadStateOut
from cloud_bridge.files import UploadError, UploadService, UploadState
from cloud_bridge.files.uploads import file_key
from cloud_bridge.store.models import ProductFile
from edge.protocol.models import OBSERVATION_ID_PATTERN, STATION_ID_PATTERN

router = APIRouter(prefix="/files", tags=["files"])

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$"
CONTENT_RANGE = re.compile(r"^bytes (\d{1,15})-(\d{1,15})/(\d{1,15})$")
SHA256_PATTERN = r"^[0-9a-f]{64}$"

StationId = Annotated[str, Path(pattern=STATION_ID_PATTERN, description="station id")]
ObservationId = Annotated[str, Path(pattern=OBSERVATION_ID_PATTERN, description="observation id")]
FileName = Annotated[str, Path(pattern=NAME_PATTERN, description="file name, as in the report's products")]


def file_url(station_id: str, observation_id: str | None, name: str) -> str:
    return f"/files/{station_id}/{observation_id}/{name}"


def file_out(row: ProductFile) -> FileOut:
    return FileOut(
        station_id=row.station_id,
        observation_id=row.observation_id,
        name=row.name,
        sha256=row.sha256,
        size_bytes=row.size_bytes,
        uploaded_utc=row.uploaded_utc,
        url=file_url(row.station_id, row.observation_id, row.name),
    )


def uploads(request: Request) -> UploadService:
    service = getattr(request.app.state, "uploads", None)
    if service is None:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, detail="this bridge has no file store configured"
        )
    return service


def _check_uploader(user: User, station_id: str) -> None:
    if not user.may_upload_for(station_id):
        if user.role.value == "public":
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                detail="uploading needs the station's own token (Authorization: Bearer <token>)",
                headers={"WWW-Authenticate": "Bearer"},
            )
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, detail=f"{user.name!r} may not upload files of station {station_id!r}"
        )


def _progress_headers(state: UploadState) -> dict[str, str]:
    headers = {"Upload-Offset": str(state.offset), "Upload-Length": str(state.total)}
    if state.complete:
        headers["X-Sha256"] = state.sha256
    return headers


@router.head(
    "/{station_id}/{observation_id}/{name}",
    responses={404: {"description": "nothing received yet"}, 200: {"description": "Upload-Offset header"}},
)
async def upload_offset(
    station_id: StationId, observation_id: ObservationId, name: FileName, request: Request, user: CurrentUser
) -> Response:
    """How far an upload got: `Upload-Offset` and `Upload-Length` (the station itself, admins)."""
    _check_uploader(user, station_id)
    state = await run_in_threadpool(uploads(request).state, station_id, observation_id, name)
    if state is None:
        return Response(status_code=status.HTTP_404_NOT_FOUND, headers={"Upload-Offset": "0"})
    return Response(status_code=status.HTTP_200_OK, headers=_progress_headers(state))


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE, detail=f"a chunk may be at most {limit} bytes (got {declared})"
        )
    body = bytearray()
    async for block in request.stream():
        body += block
        if len(body) > limit:
            raise HTTPException(
                status.HTTP_413_CONTENT_TOO_LARGE, detail=f"a chunk may be at most {limit} bytes"
            )
    return bytes(body)


@router.put(
    "/{station_id}/{observation_id}/{name}",
    response_model=UploadStateOut,
    responses={
        201: {"description": "the last chunk: the file is complete and stored"},
        400: {"description": "Content-Range does not fit the body"},
        409: {"description": "the chunk does not start at the stored offset (see Upload-Offset)"},
        413: {"description": "chunk or file too large"},
        422: {"description": "bad headers, or the bytes do not match the announced or reported sha256"},
        503: {"description": "no file store configured"},
    },
)
async def upload_chunk(
    station_id: StationId,
    observation_id: ObservationId,
    name: FileName,
    request: Request,
    user: CurrentUser,
    content_range: Annotated[
        str, Header(alias="Content-Range", max_length=60, description="bytes START-END/TOTAL (END inclusive)")
    ],
    x_sha256: Annotated[
        str, Header(alias="X-Sha256", pattern=SHA256_PATTERN, description="of the whole file")
    ],
) -> Response:
    """Receive the next chunk of a file (the station's own token, or an admin's)."""
    _check_uploader(user, station_id)
    service = uploads(request)
    match = CONTENT_RANGE.fullmatch(content_range)
    if match is None:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail=f"Content-Range: expected 'bytes START-END/TOTAL', got {content_range!r}",
        )
    start, end, total = (int(g) for g in match.groups())
    data = await _read_body(request, service.max_chunk_bytes)
    try:
        state = await run_in_threadpool(
            lambda: service.put_chunk(
                station_id,
                observation_id,
                name,
                start=start,
                end=end,
                total=total,
                sha256=x_sha256,
                data=data,
            )
        )
    except UploadError as exc:
        headers = {"Upload-Offset": str(exc.offset)} if exc.offset is not None else None
        raise HTTPException(exc.status, detail=exc.reason, headers=headers) from exc
    body = UploadStateOut(
        offset=state.offset, total=state.total, sha256=state.sha256, complete=state.complete
    )
    return Response(
        content=body.model_dump_json(),
        media_type="application/json",
        status_code=status.HTTP_201_CREATED if state.complete else status.HTTP_200_OK,
        headers=_progress_headers(state),
    )


@router.get(
    "/{station_id}/{observation_id}/{name}",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/octet-stream": {}}}, 404: {"description": "no such file"}},
)
def download(
    station_id: StationId,
    observation_id: ObservationId,
    name: FileName,
    request: Request,
    session: DbSession,
    _user: CurrentUser,
) -> StreamingResponse:
    """A stored product file's bytes."""
    row = session.scalar(
        select(ProductFile).where(
            ProductFile.station_id == station_id,
            ProductFile.observation_id == observation_id,
            ProductFile.name == name,
        )
    )
    if row is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, detail=f"no file {file_key(station_id, observation_id, name)!r}"
        )
    files = uploads(request).files
    media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return StreamingResponse(
        files.iter_bytes(row.path),
        media_type=media_type,
        headers={"Content-Length": str(row.size_bytes), "X-Sha256": row.sha256},
    )


@router.get("", response_model=Listing[FileOut])
def list_files(
    session: DbSession,
    _user: CurrentUser,
    page: PageParams,
    station_id: StationFilter = None,
    observation_id: Annotated[str | None, Query(pattern=OBSERVATION_ID_PATTERN)] = None,
) -> Listing[FileOut]:
    """Stored product files, newest first, of one station or observation if asked."""
    query = select(ProductFile)
    if station_id is not None:
        query = query.where(ProductFile.station_id == station_id)
    if observation_id is not None:
        query = query.where(ProductFile.observation_id == observation_id)
    query = query.order_by(ProductFile.uploaded_utc.desc(), ProductFile.id.desc())
    return paged(session, query, page, lambda rows: [file_out(r) for r in rows])
