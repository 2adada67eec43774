"""Every DynamoDB model of every feature: the tables that the bootstrap and templates create."""

from __future__ import annotations

from chalicelib.accounts.adapters.models import (
    EmailClaimModel,
    UserModel,
    VerificationTokenModel,
)
from chalicelib.books.adapters.models import BookModel, IsbnClaimModel
from chalicelib.bulk_import.adapters.models import JobErrorModel, JobModel
from chalicelib.exports.adapters.models import ExportJobModel
from chalicelib.mail.adapters.models import MailSendModel
from chalicelib.platform.adapters.dynamodb_models import BoundModel
from chalicelib.reports.adapters.models import DeliveryModel, ReportModel

ALL_MODELS: tuple[type[BoundModel], ...] = (
    UserModel,
    EmailClaimModel,
    VerificationTokenModel,
    BookModel,
    IsbnClaimModel,
    JobModel,
    ExportJobModel,
    JobErrorModel,
    ReportModel,
    DeliveryModel,
    MailSendModel,
)
