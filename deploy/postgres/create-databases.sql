-- Creates one database per service, as in production, so that no service reads another's tables
-- by accident. The postgres image runs this file once, when it initialises an empty data volume.
CREATE DATABASE dk_banksync;
CREATE DATABASE dk_bookkeeping;
CREATE DATABASE dk_billing;
CREATE DATABASE dk_support;
